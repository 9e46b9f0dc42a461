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
  const PAGE = Math.max(1, Number(params.get('rows')) || 30);  // bid/ask matrix rows per page
  const RECENT_MS = 60000;
  const CHART_LINES = 8;  // spread chart: the instruments with the widest spreads  // an instrument closed this recently still sorts first in the matrix
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
    q: '',                // filter text (instrument or venue), lower case
    venue: '',            // only this venue ('' = all)
    expanded: new Set(),  // dislocation groups shown row by row
    mPage: 0,
  };
  const baseOf = (inst) => inst.split('/')[0];
  const matches = (r) => (!S.venue || r.buy_exchange === S.venue || r.sell_exchange === S.venue) &&
    (!S.q || `${r.buy_instrument} ${r.sell_instrument} ${r.buy_exchange} ${r.sell_exchange}`.toLowerCase().includes(S.q));

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
  const sortValue = {
    symbol: (r) => r.symbol,
    route: (r) => `${r.buy_exchange}>${r.sell_exchange}`,
    age: (r) => -r.opened_at,
    notional: (r) => r.size * r.buy_price,
    p_capture: (r) => (r.p_capture === null || r.p_capture === undefined ? -1 : r.p_capture),
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

  // Both legs' instruments, always visible: one name (with its kind) when they are the same.
  const legsHtml = (r) => r.buy_instrument === r.sell_instrument
    ? `<span class="nm">${esc(r.buy_instrument)}<span class="kind ${kindOf(r.buy_instrument)}">${kindOf(r.buy_instrument)}</span></span>`
    : `<span class="l1">${esc(r.buy_instrument)}</span><span class="l2">→ ${esc(r.sell_instrument)}</span>`;
  function makeRow(r) {
    const tr = document.createElement('tr');
    tr.dataset.id = r.id;
    tr.dataset.ts = r.opened_at;
    tr.innerHTML =
      `<td class="sym"><button type="button" class="grp" hidden></button>${legsHtml(r)}</td>` +
      `<td class="route"><span class="v">${esc(r.buy_exchange)}</span><span class="arrow">→</span><span class="v">${esc(r.sell_exchange)}</span></td>` +
      '<td class="num"><span class="l1"></span><span class="l2 mut"></span></td>' +
      '<td class="num netcell"><b class="l1"></b><span class="l2 mut"></span></td>' +
      '<td class="num"><span class="l1"></span><span class="l2 mut"></span></td><td class="num"></td>' +
      '<td class="num"><span class="l1"></span><span class="l2 mut"></span></td><td class="num mut"></td>';
    const td = tr.children;
    tr._cells = {
      grp: td[0].firstChild, buy: td[2].firstChild, sell: td[2].lastChild, net: td[3].firstChild, fees: td[3].lastChild,
      size: td[4].firstChild, notional: td[4].lastChild, profit: td[5], conf: td[6].firstChild, pcap: td[6].lastChild,
      age: td[7],
    };
    if (r.buy_instrument !== r.sell_instrument) {
      td[0].title = `buy ${r.buy_instrument}, sell ${r.sell_instrument} (converted at ${r.conversion_rate})`;
    }
    tr._cells.grp.addEventListener('click', (e) => {
      e.stopPropagation();
      const g = tr.dataset.group;
      if (S.expanded.has(g)) S.expanded.delete(g); else S.expanded.add(g);
      renderOpen(new Set());
    });
    return tr;
  }

  function updateRow(tr, r, t) {
    const c = tr._cells;
    setText(c.buy, fmtPrice(r.buy_price));
    setText(c.sell, fmtPrice(r.sell_price));
    setText(c.net, fmtNum(r.net_bps, 1));
    setText(c.fees, `fees ${fmtNum(r.fees_bps, 1)}`);
    setText(c.size, `${fmtSize(r.size)} ${baseOf(r.buy_instrument)}`);
    setText(c.notional, `${fmtCompact(Math.round(r.size * r.buy_price))} ${r.quote_currency}`);
    setText(c.profit, `${fmtNum(r.profit_quote, 2)} ${r.quote_currency}`);
    setText(c.pcap, (r.p_capture === null || r.p_capture === undefined) ? '–' : `${Math.round(100 * r.p_capture)}%`);
    setText(c.conf, fmtNum(r.confidence, 0));
    setText(c.age, fmtAge(t - r.opened_at));
    const tip = `spread ${fmtNum(r.spread_bps, 2)} − fees ${fmtNum(r.fees_bps, 2)} − slippage ${fmtNum(r.slippage_bps, 2)} ` +
      `+ funding ${fmtNum(r.funding_bps, 2)} = net ${fmtNum(r.net_bps, 2)} bps · detect ${fmtNum(r.latency_us / 1000, 2)} ms`;
    if (tr.title !== tip) tr.title = tip;
  }

  function sortedOpen() {
    const rows = Array.from(S.open.values()).filter(matches);
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

  // One dislocation (a venue's price off on one asset) opens a pair against every other venue:
  // rows sharing a base asset and a leg venue group under their best row, which expands.
  function grouped(rows) {
    const count = new Map();
    const keys = (r) => [`${baseOf(r.buy_instrument)}|buy ${r.buy_exchange}`, `${baseOf(r.sell_instrument)}|sell ${r.sell_exchange}`];
    for (const r of rows) for (const k of keys(r)) count.set(k, (count.get(k) || 0) + 1);
    const groups = new Map();
    for (const r of rows) {  // in sort order: each group's first row is its best
      const [kb, ks] = keys(r);
      const g = (count.get(ks) > count.get(kb)) ? ks : kb;
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(r);
    }
    return groups;
  }

  function renderOpen(fresh) {
    const t = now();
    const rows = sortedOpen();
    const shown = new Set(rows.map((r) => r.id));
    for (const [id, tr] of rowEls) {
      if (!shown.has(id)) { tr.remove(); rowEls.delete(id); }
    }
    let prev = null;
    for (const [g, members] of grouped(rows)) {
      const open = S.expanded.has(g);
      members.forEach((r, k) => {
        let tr = rowEls.get(r.id);
        if (!tr) {
          tr = makeRow(r);
          rowEls.set(r.id, tr);
          if (fresh.has(r.id)) tr.classList.add('new');
        }
        updateRow(tr, r, t);
        tr.dataset.group = g;
        const lead = k === 0;
        tr.classList.toggle('child', !lead);
        tr.hidden = !lead && !open;
        const btn = tr._cells.grp;
        btn.hidden = !(lead && members.length > 1);
        if (lead && members.length > 1) {
          setText(btn, `${open ? '▾' : '▸'} ${members.length}`);
          btn.title = `${members.length} pairs of one dislocation (${g.replace('|', ', ')}): ${open ? 'collapse' : 'expand'}`;
        }
        const want = prev ? prev.nextSibling : openBody.firstChild;
        if (want !== tr) openBody.insertBefore(tr, want);
        prev = tr;
      });
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
    const ncls = r.net_bps >= S.cfg.min_net_bps ? 'pos' : 'neg';
    tr.innerHTML =
      `<td class="mut" title="${fmtClock(r.timestamp)} UTC">${fmtClock(r.timestamp).slice(0, 8)}</td>` +
      `<td class="sym pair">${esc(r.buy_instrument === r.sell_instrument ? r.symbol : `${r.buy_instrument} → ${r.sell_instrument}`)}` +
      `<span class="route"><span class="v">${esc(r.buy_exchange)}</span><span class="arrow">→</span><span class="v">${esc(r.sell_exchange)}</span></span></td>` +
      `<td><span class="tag r-${esc(r.close_reason || 'closed')}">${esc((r.close_reason || 'closed').replace(/_/g, ' '))}</span></td>` +
      `<td class="num">${fmtAge(r.duration_ms)}</td>` +
      `<td class="num ${ncls}">${fmtNum(r.net_bps, 1)}</td>` +
      `<td class="num mut">${fmtNum(r.best_net_bps, 1)}</td>`;
    return tr;
  }
  function renderClosed(added, reset) {
    if (reset) {
      closedBody.textContent = '';
      for (const r of S.closed) if (matches(r)) closedBody.appendChild(closedRow(r));
    } else {
      for (const r of added) if (matches(r)) closedBody.insertBefore(closedRow(r), closedBody.firstChild);
      while (closedBody.children.length > MAX_CLOSED) closedBody.lastChild.remove();
    }
    $('closed-empty').hidden = S.closed.length > 0;
    setText($('closed-count'), String(S.closed.length));
  }

  // -- matrix -------------------------------------------------------------------------------
  // Instruments with open or recently closed opportunities come first, then the rest; the
  // filter applies; PAGE rows per page. X-spread: best bid on one venue vs best ask on another.
  const matrixEl = $('matrix');
  let mShape = '';
  let mRows = [];   // indices into m.instruments, as shown
  let mCells = [];
  let mXs = [];
  function matrixOrder(m) {
    const hot = new Set();
    for (const r of S.open.values()) { hot.add(r.buy_instrument); hot.add(r.sell_instrument); }
    const t = now();
    for (const r of S.closed) {
      if (t - r.timestamp > RECENT_MS) break;
      hot.add(r.buy_instrument); hot.add(r.sell_instrument);
    }
    const vcol = S.venue ? m.venues.indexOf(S.venue) : -1;
    const venueHit = S.q && m.venues.some((v) => v.toLowerCase().includes(S.q));
    const keep = (k) => (vcol < 0 || m.cells[k][vcol]) &&
      (!S.q || venueHit || m.instruments[k].toLowerCase().includes(S.q));
    const idx = m.instruments.map((_, k) => k).filter(keep);
    const first = idx.filter((k) => hot.has(m.instruments[k]));
    const rest = idx.filter((k) => !hot.has(m.instruments[k]));
    return { rows: first.concat(rest), hot: first.length };
  }
  function buildMatrix(m, rows) {
    let html = '<thead><tr><th>Instrument</th>' +
      '<th class="xsh" title="best bid on one venue vs best ask on another venue, fresh quotes only, bps">X-spread</th>';
    for (const v of m.venues) html += `<th>${esc(v)}</th>`;
    html += '</tr></thead><tbody>';
    let lastBase = null;
    for (const k of rows) {
      const inst = m.instruments[k];
      const base = baseOf(inst);
      html += `<tr class="${lastBase !== null && base !== lastBase ? 'sep' : ''}"><th>${esc(inst)}<span class="kind ${kindOf(inst)}">${kindOf(inst)}</span></th><td class="xs"></td>`;
      lastBase = base;
      for (let c = 0; c < m.venues.length; c++) html += '<td class="na"><span class="b"></span><span class="a"></span></td>';
      html += '</tr>';
    }
    matrixEl.innerHTML = html + '</tbody>';
    const trs = matrixEl.tBodies[0].rows;
    mCells = [];
    mXs = [];
    for (let r = 0; r < trs.length; r++) {
      const tds = trs[r].cells;  // th + xs + venue tds
      const list = [];
      for (let c = 0; c < m.venues.length; c++) {
        const td = tds[c + 2];
        list.push({ td, b: td.firstChild, a: td.lastChild });
      }
      mCells.push(list);
      mXs.push(tds[1]);
    }
  }
  function renderPager(total, hot) {
    const pages = Math.max(1, Math.ceil(total / PAGE));
    if (S.mPage >= pages) S.mPage = pages - 1;
    const lo = total ? S.mPage * PAGE + 1 : 0;
    const hi = Math.min(total, (S.mPage + 1) * PAGE);
    setText($('matrix-range'), `${lo}–${hi} of ${total} instruments${hot ? ` · ${hot} with opportunities first` : ''}`);
    $('matrix-prev').disabled = S.mPage === 0;
    $('matrix-next').disabled = S.mPage >= pages - 1;
  }
  $('matrix-prev').addEventListener('click', () => { S.mPage = Math.max(0, S.mPage - 1); if (S.matrix) renderMatrix(S.matrix); });
  $('matrix-next').addEventListener('click', () => { S.mPage += 1; if (S.matrix) renderMatrix(S.matrix); });
  function renderMatrix(m) {
    S.matrix = m;
    if (!m) {
      matrixEl.hidden = true;
      $('matrix-pager').hidden = true;
      const e = $('matrix-empty');
      e.hidden = false;
      e.textContent = 'The bid/ask matrix needs the engine\'s market state: it shows in embedded mode (arbsniper run). ' +
        'In distributed mode this dashboard sees signals only.';
      return;
    }
    matrixEl.hidden = false;
    $('matrix-pager').hidden = false;
    $('matrix-empty').hidden = true;
    fillVenueFilter(m.venues);
    const order = matrixOrder(m);
    renderPager(order.rows.length, order.hot);
    const rows = order.rows.slice(S.mPage * PAGE, (S.mPage + 1) * PAGE);
    const shape = rows.join(',') + '|' + m.instruments.length + '|' + m.venues.join(',');
    if (shape !== mShape) { buildMatrix(m, rows); mShape = shape; mRows = rows; }
    const legs = new Map();
    for (const r of S.open.values()) {
      const kb = `${r.buy_instrument}|${r.buy_exchange}`;
      const ks = `${r.sell_instrument}|${r.sell_exchange}`;
      legs.set(kb, (legs.get(kb) || '') + 'b');
      legs.set(ks, (legs.get(ks) || '') + 's');
    }
    for (let r = 0; r < mRows.length; r++) {
      const row = m.cells[mRows[r]];
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
      const inst = m.instruments[mRows[r]];
      let xs = -Infinity;  // across venues only: a venue's own bid vs its own ask is no arbitrage
      for (let a = 0; a < m.venues.length; a++) {
        if (cls[a] === 'na' || cls[a] === 'off' || cls[a] === 'stale') continue;
        for (let b = 0; b < m.venues.length; b++) {
          if (b === a || cls[b] === 'na' || cls[b] === 'off' || cls[b] === 'stale') continue;
          const bps = (row[b][0] - row[a][1]) / row[a][1] * 1e4;
          if (bps > xs) xs = bps;
        }
      }
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
      const xcell = mXs[r];
      if (isFinite(xs)) {
        setText(xcell, fmtNum(xs, 1));
        setClass(xcell, xs >= S.cfg.min_spread_bps ? 'xs pos' : 'xs mut');
      } else {
        setText(xcell, '—');
        setClass(xcell, 'xs mut');
      }
    }
  }

  // -- filter -------------------------------------------------------------------------------
  let venueNames = '';
  function fillVenueFilter(names) {
    const key = names.join(',');
    if (key === venueNames) return;
    venueNames = key;
    const sel = $('venue-filter');
    sel.innerHTML = '<option value="">all venues</option>' + names.map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join('');
    sel.value = S.venue;
  }
  function applyFilter() {
    S.q = $('q').value.trim().toLowerCase();
    S.venue = $('venue-filter').value;
    S.mPage = 0;
    renderOpen(new Set());
    renderClosed([], true);
    if (S.matrix) renderMatrix(S.matrix);
  }
  $('q').addEventListener('input', applyFilter);
  $('venue-filter').addEventListener('change', applyFilter);

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
      : `${fmtNum(k.latency_p50_us / 1000, 2)} / ${fmtNum(k.latency_p99_us / 1000, 2)} ms`;
    setText($('k-lat'), lat);
    const push = (k.push_p50_ms === null || k.push_p50_ms === undefined) ? '—'
      : `${fmtNum(k.push_p50_ms, 0)} / ${fmtNum(k.push_p99_ms, 0)} ms`;
    setText($('k-push'), push);
    const rej = k.crossed !== undefined ? `${fmtInt(k.crossed)} · ${fmtInt(k.out_of_order)} · ${fmtInt(k.suspect)}` : '—';
    setText($('k-rej'), rej);
    setText($('k-uptime'), fmtAge(k.uptime_s * 1000));
  }
  // The trader's summary (trading.runner.Runner.pnl_summary): this session's figures (trades opened
  // since the run started) beside the ledger's whole life, labelled; the session's equity curve;
  // the best and worst venue pairs; the latest trades with their legs and fills.
  const PNL_FIELDS = [['total', 'P&L', 1], ['realized', 'Realized', 1], ['open_pnl', 'Open', 1], ['fees', 'Fees', 0],
                      ['trades', 'Trades', 0], ['open', 'Open trades', 0], ['wins', 'Won', 0], ['losses', 'Lost', 0]];
  const PNL_PAIRS = 6;
  function kvCells(src, scope) {
    let html = '';
    for (const [key, label, signed] of PNL_FIELDS) {
      const val = src[key];
      if (typeof val !== 'number') continue;
      const text = Number.isInteger(val) && !signed ? fmtInt(val) : fmtNum(val, 2);
      const cls = signed ? (val > 0 ? 'pos' : val < 0 ? 'neg' : '') : '';
      html += `<div data-scope="${scope}" data-key="${key}"><label>${esc(label)} · ${scope}</label><b class="${cls}">${text}</b></div>`;
    }
    return html;
  }
  function renderPnl(p) {
    const panel = $('pnl-panel');
    if (!p) { panel.hidden = true; return; }
    panel.hidden = false;
    const session = p.session || null;
    let html = session ? kvCells(session, 'this session') : '';
    html += kvCells({ total: p.total, realized: p.realized, fees: p.fees, trades: p.trades }, 'all time');
    const box = $('pnl');
    if (box._html !== html) { box.innerHTML = html; box._html = html; }
    setText($('pnl-hint'), `${p.mode || 'paper'} · ${p.currency || ''} · session = trades opened since this run started${p.halted ? ' · HALTED' : ''}`);
    S.equity = p.equity || [];
    drawEquity();
    const pairs = ((session || p).pairs || []).slice().sort((a, b) => b.total - a.total);
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
    let trades = '';
    for (const t of p.latest || []) {
      const legs = (t.legs || []).map((l) => `${l.qty >= 0 ? 'long' : 'short'} ${fmtSize(Math.abs(l.qty))} ${esc(l.instrument)} @ ${esc(l.venue)} ${fmtPrice(l.avg_price)}`).join('<br>');
      const fills = (t.fills || []).map((f) => `${esc(f.venue)} ${esc(f.side)} ${fmtSize(f.qty)} @ ${fmtPrice(f.price)} <span class="mut">fee ${fmtNum(f.fee, 4)} ${esc(f.fee_ccy)}</span>`).join('<br>');
      const cls = t.pnl > 0 ? 'pos' : t.pnl < 0 ? 'neg' : '';
      trades += `<tr><td>t${t.id} <span class="mut">${esc(t.kind)} ${esc(t.buy_venue)}→${esc(t.sell_venue)}</span></td><td>${legs || '<span class="mut">flat</span>'}</td>` +
                `<td>${fills || '<span class="mut">none</span>'}</td><td class="num ${cls}">${fmtNum(t.pnl, 4)} <span class="mut">${esc(t.currency)}</span></td>` +
                `<td>${esc(t.status)}${t.close_reason ? ` <span class="mut">${esc(t.close_reason)}</span>` : ''}</td></tr>`;
    }
    const tb = $('trades').tBodies[0];
    if (tb._html !== trades) { tb.innerHTML = trades; tb._html = trades; }
  }
  const eqCanvas = $('equity');
  function drawEquity() {
    const pts = S.equity || [];
    const dpr = window.devicePixelRatio || 1;
    const w = eqCanvas.clientWidth;
    const h = eqCanvas.clientHeight;
    if (!w || !h) return;
    if (eqCanvas.width !== Math.round(w * dpr) || eqCanvas.height !== Math.round(h * dpr)) {
      eqCanvas.width = Math.round(w * dpr);
      eqCanvas.height = Math.round(h * dpr);
    }
    const g = eqCanvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    if (pts.length < 1) return;
    let lo = 0, hi = 0;
    for (const [, v] of pts) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (hi - lo < 1e-9) hi = lo + 1;
    const t0 = pts[0][0], t1 = Math.max(pts[pts.length - 1][0], t0 + 1);
    const X = (t) => 2 + (t - t0) / (t1 - t0) * (w - 4);
    const Y = (v) => 3 + (hi - v) / (hi - lo) * (h - 6);
    g.strokeStyle = '#2a3542';
    g.beginPath(); g.moveTo(0, Math.round(Y(0)) + 0.5); g.lineTo(w, Math.round(Y(0)) + 0.5); g.stroke();
    const last = pts[pts.length - 1][1];
    g.strokeStyle = last >= 0 ? '#5ee39a' : '#ff7b73';
    g.lineWidth = 1.4;
    g.beginPath();
    g.moveTo(X(t0), Y(0));
    for (const [t, v] of pts) g.lineTo(X(t), Y(v));
    g.stroke();
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
    // The CHART_LINES instruments with the widest spread in the window (a hundred lines would be noise).
    const peak = new Map();
    for (const p of pts) for (const [k, v] of Object.entries(p.v)) if (!(peak.get(k) >= v)) peak.set(k, v);
    const names = new Set(Array.from(peak.entries()).sort((a, b) => b[1] - a[1]).slice(0, CHART_LINES).map((e) => e[0]));
    let lo = -5;
    let hi = S.cfg.min_spread_bps * 1.6;
    for (const p of pts) {
      for (const [k, v] of Object.entries(p.v)) {
        if (!names.has(k)) continue;
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
  window.addEventListener('resize', () => { drawChart(); drawEquity(); });

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
