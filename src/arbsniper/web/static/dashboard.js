// arbsniper dashboard. Plain JS, no build step, no third-party code.
//
// The server pushes over /ws: one "snapshot" on connect (and after falling behind), then
// "delta" messages at most ~10 a second: upserted / removed / closed opportunities, and every
// ~200 ms a "state" block (bid/ask matrix, venue health, counters, P&L, one spread point).
// Each message causes one DOM pass that touches only what changed.
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  const MAX_CLOSED = 150;
  const PALETTE = ['#39c5cf', '#f2b84b', '#a78bfa', '#5ee39a', '#ff7b73', '#60a5fa', '#f472b6', '#c3e88d',
                   '#fb923c', '#94a3b8', '#2dd4bf', '#e879f9'];

  const S = {
    cfg: { min_spread_bps: 10, max_quote_age_ms: 5000, chart_seconds: 120, mode: '' },
    open: new Map(),
    closed: [],
    chart: [],
    offset: 0,            // server clock minus ours, ms
    lastMsg: 0,
    sort: { key: 'net_bps', dir: -1 },
    muted: localStorage.getItem('arbsniper.muted') === '1',
    colors: new Map(),
    matrix: null,
    lastOpened: null,
  };

  // -- formatting ---------------------------------------------------------------------------
  const fmtPrice = (p) => {
    if (p === null || p === undefined || !isFinite(p)) return '—';
    const mag = Math.floor(Math.log10(Math.abs(p) || 1));
    return p.toFixed(Math.max(0, Math.min(8, 5 - mag)));
  };
  const fmtNum = (x, d) => (x === null || x === undefined || !isFinite(x)) ? '—' : x.toFixed(d);
  const fmtSize = (x) => (x === null || x === undefined) ? '—' : String(Number(x.toPrecision(5)));
  const fmtCompact = (x) => x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : String(x);
  const fmtInt = (x) => (x === null || x === undefined) ? '—' : Math.round(x).toLocaleString('en-US');
  const fmtAge = (ms) => {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3600000) return `${Math.floor(ms / 60000)}m ${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}s`;
    return `${Math.floor(ms / 3600000)}h ${String(Math.floor(ms / 60000) % 60).padStart(2, '0')}m`;
  };
  const fmtClock = (ms) => new Date(ms).toISOString().slice(11, 23);
  const now = () => Date.now() + S.offset;
  const kindOf = (inst) => inst.includes(':') ? 'perp' : 'spot';
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  const setText = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  const setClass = (el, cls) => { if (el.className !== cls) el.className = cls; };

  // -- sound --------------------------------------------------------------------------------
  let audio = null;
  let lastBeep = 0;
  function beep() {
    // Browsers allow sound only after the user has interacted with the page once.
    if (S.muted || (navigator.userActivation && !navigator.userActivation.hasBeenActive)) return;
    const t0 = performance.now();
    if (t0 - lastBeep < 400) return;
    lastBeep = t0;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === 'suspended') audio.resume();
      const t = audio.currentTime;
      [880, 1318.5].forEach((f, k) => {
        const o = audio.createOscillator();
        const g = audio.createGain();
        const s = t + k * 0.09;
        o.type = 'sine';
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, s);
        g.gain.exponentialRampToValueAtTime(0.07, s + 0.012);
        g.gain.exponentialRampToValueAtTime(0.0001, s + 0.085);
        o.connect(g).connect(audio.destination);
        o.start(s);
        o.stop(s + 0.1);
      });
    } catch (e) { /* no audio device: the highlight still shows */ }
  }
  function renderMute() {
    $('mute').setAttribute('aria-pressed', S.muted ? 'true' : 'false');
    $('mute-text').textContent = S.muted ? 'muted' : 'sound on';
  }
  function toggleMute() {
    S.muted = !S.muted;
    localStorage.setItem('arbsniper.muted', S.muted ? '1' : '0');
    renderMute();
    if (!S.muted) { lastBeep = 0; beep(); }
  }
  $('mute').addEventListener('click', toggleMute);
  document.addEventListener('keydown', (e) => {
    if ((e.key === 'm' || e.key === 'M') && !e.ctrlKey && !e.metaKey && !e.altKey) toggleMute();
  });
  renderMute();

  // -- open opportunities -------------------------------------------------------------------
  const openBody = $('open').tBodies[0];
  const rowEls = new Map();
  const COLS = ['symbol', 'route', 'buy_price', 'sell_price', 'spread_bps', 'net_bps', 'size', 'profit_quote', 'confidence', 'age'];
  const sortValue = {
    symbol: (r) => r.symbol,
    route: (r) => `${r.buy_exchange}>${r.sell_exchange}`,
    age: (r) => -r.opened_at,
  };
  document.querySelectorAll('#open th[data-key]').forEach((th) => {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      if (S.sort.key === key) S.sort.dir = -S.sort.dir;
      else S.sort = { key, dir: (key === 'symbol' || key === 'route') ? 1 : -1 };
      renderSortHeader();
      renderOpen(new Set());
    });
  });
  function renderSortHeader() {
    document.querySelectorAll('#open th[data-key]').forEach((th) => {
      th.classList.toggle('sorted', th.dataset.key === S.sort.key);
      th.classList.toggle('asc', th.dataset.key === S.sort.key && S.sort.dir > 0);
    });
  }
  renderSortHeader();

  function makeRow(r) {
    const tr = document.createElement('tr');
    tr.dataset.id = r.id;
    tr.dataset.ts = r.opened_at;
    tr.innerHTML =
      `<td class="sym">${esc(r.symbol)}<span class="kind ${kindOf(r.symbol)}">${kindOf(r.symbol)}</span></td>` +
      `<td class="route"><span class="v">${esc(r.buy_exchange)}</span><span class="arrow">→</span><span class="v">${esc(r.sell_exchange)}</span></td>` +
      '<td class="num"></td><td class="num"></td><td class="num"></td><td class="num netcell"><b></b></td>' +
      '<td class="num"></td><td class="num"></td><td class="num"><span class="conf"><span></span><i><span></span></i></span></td><td class="num mut"></td>';
    const td = tr.children;
    tr._cells = {
      buy: td[2], sell: td[3], spread: td[4], net: td[5].firstChild, size: td[6], profit: td[7],
      conf: td[8].firstChild.firstChild, confbar: td[8].firstChild.lastChild.firstChild, age: td[9],
    };
    if (r.buy_instrument !== r.sell_instrument) {
      td[0].title = `buy ${r.buy_instrument}, sell ${r.sell_instrument} (converted at ${r.conversion_rate})`;
    }
    return tr;
  }

  function updateRow(tr, r, t) {
    const c = tr._cells;
    setText(c.buy, fmtPrice(r.buy_price));
    setText(c.sell, fmtPrice(r.sell_price));
    setText(c.spread, fmtNum(r.spread_bps, 1));
    setText(c.net, fmtNum(r.net_bps, 1));
    setText(c.size, fmtSize(r.size));
    setText(c.profit, `${fmtNum(r.profit_quote, 2)} ${r.quote_currency}`);
    setText(c.conf, fmtNum(r.confidence, 0));
    const w = `${Math.max(0, Math.min(100, r.confidence))}%`;
    if (c.confbar.style.width !== w) c.confbar.style.width = w;
    setText(c.age, fmtAge(t - r.opened_at));
    const tip = `spread ${fmtNum(r.spread_bps, 2)} − fees ${fmtNum(r.fees_bps, 2)} − slippage ${fmtNum(r.slippage_bps, 2)} ` +
      `+ funding ${fmtNum(r.funding_bps, 2)} = net ${fmtNum(r.net_bps, 2)} bps · detect ${fmtNum(r.latency_us, 1)} µs`;
    if (tr.title !== tip) tr.title = tip;
  }

  function sortedOpen() {
    const rows = Array.from(S.open.values());
    const key = S.sort.key;
    const get = sortValue[key] || ((r) => r[key]);
    const dir = S.sort.dir;
    rows.sort((a, b) => {
      const va = get(a);
      const vb = get(b);
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return b.net_bps - a.net_bps;
    });
    return rows;
  }

  function renderOpen(fresh) {
    const t = now();
    for (const [id, tr] of rowEls) {
      if (!S.open.has(id)) { tr.remove(); rowEls.delete(id); }
    }
    let prev = null;
    for (const r of sortedOpen()) {
      let tr = rowEls.get(r.id);
      if (!tr) {
        tr = makeRow(r);
        rowEls.set(r.id, tr);
        if (fresh.has(r.id)) tr.classList.add('new');
      }
      updateRow(tr, r, t);
      const want = prev ? prev.nextSibling : openBody.firstChild;
      if (want !== tr) openBody.insertBefore(tr, want);
      prev = tr;
    }
    const n = S.open.size;
    $('open-empty').hidden = n > 0;
    setText($('open-count'), String(n));
    $('open-count').classList.toggle('hot', n > 0);
    document.title = n > 0 ? `(${n}) arbsniper` : 'arbsniper';
  }

  function refreshAges() {
    const t = now();
    for (const [id, tr] of rowEls) {
      const r = S.open.get(id);
      if (r) setText(tr._cells.age, fmtAge(t - r.opened_at));
    }
  }

  // -- closed -------------------------------------------------------------------------------
  const closedBody = $('closed').tBodies[0];
  function closedRow(r) {
    const tr = document.createElement('tr');
    tr.dataset.id = r.id;
    const pcls = r.profit_quote >= 0 ? '' : 'neg';
    tr.innerHTML =
      `<td class="mut" title="${fmtClock(r.timestamp)} UTC">${fmtClock(r.timestamp).slice(0, 8)}</td>` +
      `<td class="sym">${esc(r.symbol)}</td>` +
      `<td class="route"><span class="v">${esc(r.buy_exchange)}</span><span class="arrow">→</span><span class="v">${esc(r.sell_exchange)}</span></td>` +
      `<td><span class="tag r-${esc(r.close_reason || 'closed')}">${esc((r.close_reason || 'closed').replace(/_/g, ' '))}</span></td>` +
      `<td class="num">${fmtAge(r.duration_ms)}</td>` +
      `<td class="num">${fmtNum(r.net_bps, 1)}</td>` +
      `<td class="num ${pcls}">${fmtNum(r.profit_quote, 2)} <span class="mut">${esc(r.quote_currency)}</span></td>`;
    return tr;
  }
  function renderClosed(added, reset) {
    if (reset) {
      closedBody.textContent = '';
      for (const r of S.closed) closedBody.appendChild(closedRow(r));
    } else {
      for (const r of added) closedBody.insertBefore(closedRow(r), closedBody.firstChild);
      while (closedBody.children.length > MAX_CLOSED) closedBody.lastChild.remove();
    }
    $('closed-empty').hidden = S.closed.length > 0;
    setText($('closed-count'), String(S.closed.length));
  }

  // -- matrix -------------------------------------------------------------------------------
  const matrixEl = $('matrix');
  let mShape = '';
  let mCells = [];
  let mXs = [];
  function buildMatrix(m) {
    let html = '<thead><tr><th>Instrument</th>';
    for (const v of m.venues) html += `<th>${esc(v)}</th>`;
    html += '<th title="best bid across venues vs best ask across venues, fresh quotes only">X-spread</th></tr></thead><tbody>';
    let lastBase = null;
    for (const inst of m.instruments) {
      const base = inst.split('/')[0];
      html += `<tr class="${lastBase !== null && base !== lastBase ? 'sep' : ''}"><th>${esc(inst)}<span class="kind ${kindOf(inst)}">${kindOf(inst)}</span></th>`;
      lastBase = base;
      for (let c = 0; c < m.venues.length; c++) html += '<td class="na"><span class="b"></span><span class="a"></span></td>';
      html += '<td class="xs"></td></tr>';
    }
    matrixEl.innerHTML = html + '</tbody>';
    const rows = matrixEl.tBodies[0].rows;
    mCells = [];
    mXs = [];
    for (let r = 0; r < rows.length; r++) {
      const tds = rows[r].cells;  // th + venue tds + xs
      const list = [];
      for (let c = 0; c < m.venues.length; c++) {
        const td = tds[c + 1];
        list.push({ td, b: td.firstChild, a: td.lastChild });
      }
      mCells.push(list);
      mXs.push(tds[tds.length - 1]);
    }
  }
  function renderMatrix(m) {
    S.matrix = m;
    if (!m) {
      matrixEl.hidden = true;
      const e = $('matrix-empty');
      e.hidden = false;
      e.textContent = 'The bid/ask matrix needs the engine\'s market state: it shows in embedded mode (arbsniper run). ' +
        'In distributed mode this dashboard sees signals only.';
      return;
    }
    matrixEl.hidden = false;
    $('matrix-empty').hidden = true;
    const shape = m.instruments.join(',') + '|' + m.venues.join(',');
    if (shape !== mShape) { buildMatrix(m); mShape = shape; }
    const legs = new Map();
    for (const r of S.open.values()) {
      const kb = `${r.buy_instrument}|${r.buy_exchange}`;
      const ks = `${r.sell_instrument}|${r.sell_exchange}`;
      legs.set(kb, (legs.get(kb) || '') + 'b');
      legs.set(ks, (legs.get(ks) || '') + 's');
    }
    for (let r = 0; r < m.instruments.length; r++) {
      const row = m.cells[r];
      let bestBid = -Infinity;
      let bestAsk = Infinity;
      const cls = [];
      for (let c = 0; c < m.venues.length; c++) {
        const cell = row[c];
        let k = 'na';
        if (cell) {
          const [bid, ask, age, trad] = cell;
          const maxAge = m.max_age_ms[c];
          if (!trad || bid === null || ask === null) k = 'off';
          else if (age > maxAge) k = 'stale';
          else if (age > maxAge / 2) k = 'old';
          else if (age > 1000) k = 'warm';
          else k = 'fresh';
          if (k !== 'off' && k !== 'stale') {
            if (bid > bestBid) bestBid = bid;
            if (ask < bestAsk) bestAsk = ask;
          }
        }
        cls.push(k);
      }
      const inst = m.instruments[r];
      for (let c = 0; c < m.venues.length; c++) {
        const cell = row[c];
        const ref = mCells[r][c];
        let k = cls[c];
        const leg = legs.get(`${inst}|${m.venues[c]}`);
        if (leg) k += (leg.includes('b') ? ' leg-buy' : '') + (leg.includes('s') ? ' leg-sell' : '');
        setClass(ref.td, k);
        if (!cell) { setText(ref.b, ''); setText(ref.a, ''); continue; }
        const [bid, ask, age] = cell;
        setText(ref.b, fmtPrice(bid));
        setText(ref.a, fmtPrice(ask));
        const live = cls[c] !== 'off' && cls[c] !== 'stale';
        setClass(ref.b, live && bid === bestBid ? 'b bb' : 'b');
        setClass(ref.a, live && ask === bestAsk ? 'a ba' : 'a');
        const tip = `${m.venues[c]} ${inst}\nbid ${fmtPrice(bid)}  ask ${fmtPrice(ask)}\nlast quote ${fmtAge(age)} ago (max ${fmtAge(m.max_age_ms[c])})`;
        if (ref.td.title !== tip) ref.td.title = tip;
      }
      const xs = mXs[r];
      if (isFinite(bestBid) && isFinite(bestAsk) && bestBid > 0) {
        const bps = (bestBid - bestAsk) / bestAsk * 1e4;
        setText(xs, fmtNum(bps, 1));
        setClass(xs, bps >= S.cfg.min_spread_bps ? 'xs pos' : 'xs mut');
      } else {
        setText(xs, '—');
        setClass(xs, 'xs mut');
      }
    }
  }

  // -- venues -------------------------------------------------------------------------------
  function renderVenues(list) {
    const body = $('venues').tBodies[0];
    if (!list) {
      $('venues').hidden = true;
      const e = $('venues-empty');
      e.hidden = false;
      e.textContent = 'Venue health comes from the engine: see each engine\'s /health in distributed mode.';
      return;
    }
    $('venues').hidden = false;
    $('venues-empty').hidden = true;
    let html = '';
    let up = 0;
    for (const v of list) {
      if (v.state === 'up') up++;
      const markets = Object.entries(v.markets).map(([k, ok]) => `<span class="mk ${ok ? 'ok' : 'ko'}">${esc(k)}</span>`).join('');
      html += `<tr><td class="sym">${esc(v.venue)}</td><td><span class="state s-${esc(v.state)}">${esc(v.state)}</span></td>` +
        `<td>${markets}</td><td class="num">${v.fresh}/${v.listings}</td>` +
        `<td class="num ${v.last_quote_age_ms > 5000 ? 'neg' : ''}">${fmtAge(v.last_quote_age_ms)}</td>` +
        `<td class="num">${v.open_legs || '<span class="mut">0</span>'}</td></tr>`;
    }
    if (body._html !== html) { body.innerHTML = html; body._html = html; }
    setText($('venues-hint'), `${up}/${list.length} fully up`);
  }

  // -- counters, P&L ------------------------------------------------------------------------
  function renderCounters(k) {
    if (!k) return;
    setText($('k-events'), k.events_per_s !== undefined ? fmtInt(k.events_per_s) : '—');
    setText($('k-signals'), fmtNum(k.signals_per_s, 1));
    setText($('k-open'), String(k.open));
    const opened = $('k-opened');
    if (S.lastOpened !== null && k.opened > S.lastOpened) {
      opened.classList.remove('pulse');
      void opened.offsetWidth;
      opened.classList.add('pulse');
    }
    S.lastOpened = k.opened;
    setText(opened, fmtInt(k.opened));
    const drops = k.market_dropped !== undefined
      ? `${fmtCompact(k.market_dropped)} (${fmtNum(100 * k.market_drop_rate, 0)}%) / ${fmtInt(k.signal_dropped)}` : '—';
    setText($('k-drops'), drops);
    $('k-drops').classList.toggle('bad', (k.signal_dropped || 0) > 0);
    const lat = (k.latency_p50_us === null || k.latency_p50_us === undefined) ? '—'
      : `${fmtNum(k.latency_p50_us, 1)} / ${fmtNum(k.latency_p99_us, 1)} µs`;
    setText($('k-lat'), lat);
    const push = (k.push_p50_ms === null || k.push_p50_ms === undefined) ? '—'
      : `${fmtNum(k.push_p50_ms, 0)} / ${fmtNum(k.push_p99_ms, 0)} ms`;
    setText($('k-push'), push);
    const rej = k.crossed !== undefined ? `${fmtInt(k.crossed)} · ${fmtInt(k.out_of_order)} · ${fmtInt(k.suspect)}` : '—';
    setText($('k-rej'), rej);
    setText($('k-uptime'), fmtAge(k.uptime_s * 1000));
  }
  // The trader's summary (trading.ledger.pnl_summary): headline figures, then the best and worst
  // venue pairs. Amounts are in the summary's reference currency.
  const PNL_FIELDS = [['total', 'Total', 1], ['realized', 'Realized', 1], ['open_pnl', 'Open', 1], ['fees', 'Fees', 0],
                      ['funding', 'Funding', 1], ['leg_pnl', 'Leg risk', 1], ['trades', 'Trades', 0], ['open', 'Open trades', 0],
                      ['wins', 'Won', 0], ['losses', 'Lost', 0]];
  const PNL_PAIRS = 6;
  function renderPnl(p) {
    const panel = $('pnl-panel');
    if (!p) { panel.hidden = true; return; }
    panel.hidden = false;
    let html = '';
    for (const [key, label, signed] of PNL_FIELDS) {
      const val = p[key];
      if (typeof val !== 'number') continue;
      const text = Number.isInteger(val) && !signed ? fmtInt(val) : fmtNum(val, 2);
      const cls = signed ? (val > 0 ? 'pos' : val < 0 ? 'neg' : '') : '';
      html += `<div><label>${esc(label)}</label><b class="${cls}">${text}</b></div>`;
    }
    const box = $('pnl');
    if (box._html !== html) { box.innerHTML = html; box._html = html; }
    setText($('pnl-hint'), `${p.mode || 'paper'} · ${p.currency || ''}${p.halted ? ' · HALTED' : ''}`);
    const pairs = (p.pairs || []).slice().sort((a, b) => b.total - a.total);
    const shown = pairs.length > PNL_PAIRS ? pairs.slice(0, PNL_PAIRS / 2).concat(pairs.slice(-PNL_PAIRS / 2)) : pairs;
    let rows = '';
    for (const r of shown) {
      const cls = r.total > 0 ? 'pos' : r.total < 0 ? 'neg' : '';
      rows += `<tr><td>${esc(r.pair)}</td><td>${esc(r.kind)}</td><td class="num">${fmtInt(r.trades)}</td>` +
              `<td class="num">${fmtInt(r.wins)}</td><td class="num">${fmtInt(r.losses)}</td>` +
              `<td class="num">${fmtNum(r.fees, 2)}</td><td class="num ${cls}">${fmtNum(r.total, 2)}</td></tr>`;
    }
    const body = $('pnl-pairs').tBodies[0];
    if (body._html !== rows) { body.innerHTML = rows; body._html = rows; }
  }

  // -- spread chart -------------------------------------------------------------------------
  const canvas = $('chart');
  const ctx = canvas.getContext('2d');
  function colorOf(name) {
    let c = S.colors.get(name);
    if (!c) { c = PALETTE[S.colors.size % PALETTE.length]; S.colors.set(name, c); }
    return c;
  }
  function niceStep(range) {
    const raw = range / 5;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }
  function drawChart() {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const t1 = now();
    const t0 = t1 - S.cfg.chart_seconds * 1000;
    const pts = S.chart.filter((p) => p.t >= t0);
    const names = new Set();
    let lo = -5;
    let hi = S.cfg.min_spread_bps * 1.6;
    for (const p of pts) {
      for (const [k, v] of Object.entries(p.v)) {
        names.add(k);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    lo = Math.max(lo, -60);
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    const L = 40, R = 8, T = 8, B = 18;
    const X = (t) => L + (t - t0) / (t1 - t0) * (w - L - R);
    const Y = (v) => T + (hi - v) / (hi - lo) * (h - T - B);
    ctx.font = '10px ui-monospace, Menlo, Consolas, monospace';
    ctx.textBaseline = 'middle';
    const step = niceStep(hi - lo);
    ctx.lineWidth = 1;
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.strokeStyle = Math.abs(v) < 1e-9 ? '#3a4756' : '#19212b';
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - R, y); ctx.stroke();
      ctx.fillStyle = '#6e7b8b';
      ctx.textAlign = 'right';
      ctx.fillText(String(Math.round(v * 10) / 10), L - 5, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let s = 0; s <= S.cfg.chart_seconds; s += 30) {
      const x = Math.round(X(t1 - s * 1000)) + 0.5;
      ctx.strokeStyle = '#151c25';
      ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, h - B); ctx.stroke();
      ctx.fillStyle = '#6e7b8b';
      ctx.fillText(s === 0 ? 'now' : `-${s}s`, Math.min(x, w - R - 12), h - B + 4);
    }
    // the detector's threshold: above it a spread can become an opportunity
    const yt = Math.round(Y(S.cfg.min_spread_bps)) + 0.5;
    ctx.fillStyle = 'rgba(47, 191, 113, 0.05)';
    ctx.fillRect(L, T, w - L - R, Math.max(0, yt - T));
    ctx.strokeStyle = 'rgba(216, 161, 58, 0.8)';
    ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(L, yt); ctx.lineTo(w - R, yt); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = 'rgba(216, 161, 58, 0.9)';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(`min spread ${S.cfg.min_spread_bps} bps`, L + 4, yt - 2);
    ctx.lineWidth = 1.3;
    ctx.lineJoin = 'round';
    const sorted = Array.from(names).sort();
    for (const name of sorted) {
      ctx.strokeStyle = colorOf(name);
      ctx.beginPath();
      let pen = false;
      for (const p of pts) {
        const v = p.v[name];
        if (v === undefined) { pen = false; continue; }
        const x = X(p.t);
        const y = Y(Math.max(v, lo));
        if (pen) ctx.lineTo(x, y); else { ctx.moveTo(x, y); pen = true; }
      }
      ctx.stroke();
    }
    const last = pts.length ? pts[pts.length - 1].v : {};
    let legend = '';
    for (const name of sorted) {
      const v = last[name];
      legend += `<span><i style="background:${colorOf(name)}"></i>${esc(name)} <b>${v === undefined ? '—' : fmtNum(v, 1)}</b></span>`;
    }
    const lg = $('legend');
    if (lg._html !== legend) { lg.innerHTML = legend; lg._html = legend; }
  }
  window.addEventListener('resize', drawChart);

  // -- messages -----------------------------------------------------------------------------
  function applyState(st) {
    if (!st) return;
    renderCounters(st.counters);
    renderMatrix(st.matrix);
    renderVenues(st.venues);
    renderPnl(st.pnl);
    if (st.spread && (!S.chart.length || S.chart[S.chart.length - 1].t < st.spread.t)) {
      S.chart.push(st.spread);
      const cut = now() - S.cfg.chart_seconds * 1000 - 2000;
      while (S.chart.length && S.chart[0].t < cut) S.chart.shift();
    }
    drawChart();
  }

  function onMessage(ev) {
    const msg = JSON.parse(ev.data);
    S.offset = msg.now - Date.now();
    S.lastMsg = performance.now();
    if (msg.type === 'snapshot') {
      S.cfg = Object.assign(S.cfg, msg.config);
      setText($('mode'), S.cfg.mode);
      setText($('chart-title'), S.cfg.mode === 'distributed' ? 'Widest open spread, bps' : 'Best cross-venue spread, bps');
      S.open = new Map(msg.open.map((r) => [r.id, r]));
      S.closed = msg.closed.slice(0, MAX_CLOSED);
      S.chart = msg.chart.slice();
      renderOpen(new Set());
      renderClosed([], true);
      applyState(msg.state);
      return;
    }
    const fresh = new Set();
    if (msg.remove) for (const id of msg.remove) S.open.delete(id);
    if (msg.upsert) for (const r of msg.upsert) S.open.set(r.id, r);
    if (msg.new) for (const id of msg.new) if (S.open.has(id) && !rowEls.has(id)) fresh.add(id);
    if (msg.upsert || msg.remove) renderOpen(fresh);
    else refreshAges();
    if (fresh.size) beep();
    if (msg.closed && msg.closed.length) {
      const added = msg.closed;  // oldest first
      S.closed = added.slice().reverse().concat(S.closed).slice(0, MAX_CLOSED);
      renderClosed(added, false);
    }
    if (msg.state) applyState(msg.state);
  }

  // -- connection ---------------------------------------------------------------------------
  let backoff = 500;
  function setConn(state, text) {
    const el = $('conn');
    if (el.dataset.state !== state) el.dataset.state = state;
    setText($('conn-text'), text);
  }
  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const base = location.pathname.replace(/[^/]*$/, '');
    const url = `${proto}//${location.host}${base}ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    const ws = new WebSocket(url);
    ws.onopen = () => { backoff = 500; setConn('live', 'live'); };
    ws.onmessage = onMessage;
    ws.onclose = () => {
      setConn('down', `reconnecting in ${(backoff / 1000).toFixed(1)} s`);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 8000);
    };
  }
  setInterval(() => {
    setText($('clock'), `${new Date(now()).toISOString().slice(11, 19)} UTC`);
    const el = $('conn');
    if (el.dataset.state === 'live' && performance.now() - S.lastMsg > 3000) setConn('stalled', 'no data');
    else if (el.dataset.state === 'stalled' && performance.now() - S.lastMsg <= 3000) setConn('live', 'live');
  }, 500);
  connect();
})();
