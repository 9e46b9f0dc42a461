"""How events travel between the parts: in process (``inproc``), over ZeroMQ (``zmq``, ``codec``), and signals in Redis (``redis/``)."""
