// The live page of ledgerd. It reads the event stream's URL from the API
// root, follows the stream with the browser's WebSocket, and after any
// disconnect resumes after the last transaction it received
// (after_transaction_id; from_height before the first one), so that nothing
// is missed and nothing is shown twice (docs/event-stream.md).
// What comes from the network reaches the DOM only through textContent and
// attributes, never as HTML.
(() => {
  'use strict';

  const CHART_WINDOW_MS = 5 * 60 * 1000;
  const MAX_BARS = 120;
  const MIN_SLOTS = 30;
  const MAX_BLOCKS = 500; // older blocks leave the page (and the duplicate check)
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const HEALTH_EVERY_MS = 5000;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  const el = {
    connection: $('connection'),
    latestHeight: $('latest-height'),
    txCount: $('tx-count'),
    streamUrl: $('stream-url'),
    chart: $('chart'),
    chartFirst: $('chart-first'),
    chartMax: $('chart-max'),
    chartLast: $('chart-last'),
    filterForm: $('filter-form'),
    filterAssetId: $('filter-asset-id'),
    filterPublicKey: $('filter-public-key'),
    filterOperation: $('filter-operation'),
    filterFromHeight: $('filter-from-height'),
    filterClear: $('filter-clear'),
    filterError: $('filter-error'),
    blocks: $('blocks'),
    blocksEmpty: $('blocks-empty'),
    lookupForm: $('lookup-form'),
    lookupKind: $('lookup-kind'),
    lookupValue: $('lookup-value'),
    lookupStatus: $('lookup-status'),
    lookupResult: $('lookup-result'),
  };

  const stream = {
    url: null, // the advertised stream URL (API root's "streams")
    filters: {}, // asset_id, public_key, operation: the non-empty ones
    resumeFrom: null, // from_height of the next connection; null: the tip + 1
    lastId: null, // the last transaction received; the next connection resumes after it
    socket: null,
    opened: false, // whether the current socket got past the upgrade
    attempt: 0, // failed connections in a row, for the backoff
    timer: null,
    generation: 0, // changes with the filters; older connections are ignored
  };

  const view = {
    blocks: new Map(), // height -> {element, list, countText, ids}
    ids: new Set(), // transaction ids on the page
    shown: 0,
    latestHeight: 0,
    chart: [], // {height, count, at}, in arrival order
    chartScheduled: false,
  };

  // ---- connection -------------------------------------------------------

  function setConnection(state, text) {
    el.connection.dataset.state = state;
    el.connection.textContent = text;
  }

  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.json();
  }

  // The stream URL the node advertises. Behind a proxy it is the proxy's
  // wss:// URL; only a root without one falls back to this host's port 9985.
  async function advertisedStreamUrl() {
    const root = await getJson('./');
    const streams = root && root.api && root.api.v1 && root.api.v1.streams;
    if (typeof streams === 'string' && /^wss?:\/\//i.test(streams)) return streams;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${location.hostname}:9985/api/v1/streams/valid_transactions`;
  }

  function subscriptionUrl() {
    const url = new URL(stream.url);
    for (const [name, value] of Object.entries(stream.filters)) url.searchParams.set(name, value);
    if (stream.lastId !== null) url.searchParams.set('after_transaction_id', stream.lastId);
    else url.searchParams.set('from_height', String(stream.resumeFrom));
    return url.toString();
  }

  async function connect() {
    stream.timer = null;
    const generation = stream.generation;
    setConnection('connecting', stream.attempt > 0 ? `reconnecting (attempt ${stream.attempt + 1})` : 'connecting');
    let tip = null;
    try {
      if (!stream.url) stream.url = await advertisedStreamUrl();
      if (stream.resumeFrom === null && stream.lastId === null) tip = (await getJson('health')).height;
    } catch (error) {
      if (generation === stream.generation) scheduleReconnect('node unreachable');
      return;
    }
    if (generation !== stream.generation) return;
    // Live from the block after the tip: everything committed after this
    // look arrives, however long the socket takes to open.
    if (stream.resumeFrom === null && stream.lastId === null) stream.resumeFrom = tip + 1;

    const url = subscriptionUrl();
    el.streamUrl.textContent = url;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      setConnection('refused', 'bad stream URL');
      showFilterError(`Cannot open ${url}: ${error.message}`);
      return;
    }
    stream.socket = socket;
    stream.opened = false;
    socket.onopen = () => {
      if (socket !== stream.socket) return;
      stream.opened = true;
      stream.attempt = 0;
      setConnection('open', 'live');
    };
    socket.onmessage = (event) => {
      if (socket === stream.socket) onStreamMessage(event.data);
    };
    socket.onclose = (event) => {
      if (socket === stream.socket) onStreamClose(event, url);
    };
  }

  function onStreamMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      return;
    }
    const { transaction_id: id, asset_id: assetId, height } = message || {};
    if (typeof id !== 'string' || typeof assetId !== 'string' || !Number.isSafeInteger(height)) return;
    // The next connection starts right after this one. Should the node not
    // know it (another chain on the same address), the page falls back to
    // this height and drops the ids it already shows.
    stream.lastId = id;
    stream.resumeFrom = height;
    if (view.ids.has(id)) return;
    addTransaction(height, id, assetId);
  }

  async function onStreamClose(event, url) {
    const socket = stream.socket;
    // The node names the exact point to resume from when it closes on
    // purpose (going away, slow consumer).
    const namedId = /after_transaction_id=([0-9a-f]{64})/.exec(event.reason || '');
    if (namedId) stream.lastId = namedId[1];
    const namedHeight = /from_height=(\d+)/.exec(event.reason || '');
    if (namedHeight) stream.resumeFrom = Number(namedHeight[1]);
    if (!stream.opened) {
      // The upgrade failed and the browser does not say why: ask the stream
      // over HTTP, which answers a bad filter with 400 and its reason.
      const refusal = await refusalOf(url);
      if (socket !== stream.socket) return;
      if (refusal && refusal.status === 400 && stream.lastId !== null &&
          refusal.message.startsWith('after_transaction_id')) {
        // The node does not know the last transaction shown: resume by
        // height instead.
        stream.socket = null;
        stream.lastId = null;
        scheduleReconnect('resuming by height');
        return;
      }
      if (refusal && refusal.status === 400) {
        stream.socket = null;
        setConnection('refused', 'filter refused');
        showFilterError(`The stream refused the filter: ${refusal.message}`);
        return;
      }
      stream.socket = null;
      scheduleReconnect(refusal ? `stream answered ${refusal.status}` : 'node unreachable');
      return;
    }
    stream.socket = null;
    scheduleReconnect(event.code === 1001 ? 'node going away' : `disconnected (${event.code})`);
  }

  // {status, message} of a plain GET of the subscription URL when it is not
  // the 426 a well-formed request gets; null if it is, or on no answer.
  async function refusalOf(url) {
    try {
      const response = await fetch(url.replace(/^ws/i, 'http'), { cache: 'no-store' });
      if (response.status === 426) return null;
      const body = await response.json().catch(() => null);
      const message = body && typeof body.message === 'string' ? body.message : response.statusText;
      return { status: response.status, message };
    } catch (error) {
      return null;
    }
  }

  function scheduleReconnect(why) {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** stream.attempt) * (0.75 + Math.random() / 2);
    stream.attempt += 1;
    setConnection('closed', `${why}; reconnecting in ${Math.max(1, Math.round(delay / 1000))} s`);
    stream.timer = setTimeout(connect, delay);
  }

  // Drops the connection and what it showed, and subscribes anew.
  function restart(resumeFrom) {
    stream.generation += 1;
    const socket = stream.socket;
    stream.socket = null;
    if (socket) socket.close(1000);
    if (stream.timer !== null) clearTimeout(stream.timer);
    stream.timer = null;
    stream.attempt = 0;
    stream.resumeFrom = resumeFrom;
    stream.lastId = null;
    clearBlocks();
    connect();
  }

  // ---- blocks -----------------------------------------------------------

  function link(path, text, className) {
    const a = document.createElement('a');
    a.href = path;
    a.textContent = text;
    if (className) a.className = className;
    return a;
  }

  function addBlock(height) {
    const element = document.createElement('li');
    element.className = 'block';
    element.dataset.height = String(height);

    const head = document.createElement('div');
    head.className = 'block-head';
    head.append(link(`api/v1/blocks/${height}`, `Block ${height}`, 'block-height'));
    const countText = document.createElement('span');
    countText.className = 'muted small';
    const received = document.createElement('span');
    received.className = 'muted small';
    received.textContent = `received ${new Date().toLocaleTimeString()}`;
    head.append(countText, received);

    const list = document.createElement('ol');
    list.className = 'txs';
    element.append(head, list);

    // Newest first; a replayed block may land below newer ones.
    let before = null;
    for (const other of el.blocks.children) {
      if (Number(other.dataset.height) < height) {
        before = other;
        break;
      }
    }
    el.blocks.insertBefore(element, before);

    const block = { element, list, countText, ids: [], chartEntry: { height, count: 0, at: Date.now() } };
    view.blocks.set(height, block);
    view.chart.push(block.chartEntry);
    // A long replay arrives within seconds: keep what the chart can show.
    if (view.chart.length > 2 * MAX_BARS) view.chart.splice(0, view.chart.length - 2 * MAX_BARS);
    el.blocksEmpty.hidden = true;
    dropOldBlocks();
    return block;
  }

  function dropOldBlocks() {
    while (view.blocks.size > MAX_BLOCKS) {
      const lowest = Math.min(...view.blocks.keys());
      const block = view.blocks.get(lowest);
      for (const id of block.ids) view.ids.delete(id);
      block.element.remove();
      view.blocks.delete(lowest);
    }
  }

  function addTransaction(height, id, assetId) {
    const block = view.blocks.get(height) || addBlock(height);
    // A CREATE's asset id is its own id; a TRANSFER's is an earlier one's.
    const operation = id === assetId ? 'CREATE' : 'TRANSFER';

    const item = document.createElement('li');
    item.className = 'tx';
    item.dataset.id = id;
    item.dataset.assetId = assetId;
    const badge = document.createElement('span');
    badge.className = `op op-${operation}`;
    badge.textContent = operation;
    const asset = document.createElement('span');
    asset.className = 'asset mono';
    asset.append('asset ', link(`api/v1/transactions/${encodeURIComponent(assetId)}`, assetId, 'asset-id'));
    item.append(badge, link(`api/v1/transactions/${encodeURIComponent(id)}`, id, 'tx-id mono'), asset);
    block.list.append(item);

    block.ids.push(id);
    block.chartEntry.count += 1;
    block.countText.textContent = `${block.ids.length} transaction${block.ids.length === 1 ? '' : 's'}`;
    view.ids.add(id);
    view.shown += 1;
    el.txCount.textContent = String(view.shown);
    setLatestHeight(height);
    scheduleChart();
  }

  function clearBlocks() {
    el.blocks.replaceChildren();
    el.blocksEmpty.hidden = false;
    view.blocks.clear();
    view.ids.clear();
    view.chart = [];
    view.shown = 0;
    el.txCount.textContent = '0';
    drawChart();
  }

  function setLatestHeight(height) {
    if (height <= view.latestHeight) return;
    view.latestHeight = height;
    el.latestHeight.textContent = String(height);
  }

  async function pollHealth() {
    try {
      setLatestHeight((await getJson('health')).height);
    } catch (error) {
      // The connection state already tells that the node is away.
    }
  }

  // ---- chart ------------------------------------------------------------

  function svg(name, attributes) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  // Draws once per frame however many messages arrive in it.
  function scheduleChart() {
    if (view.chartScheduled) return;
    view.chartScheduled = true;
    requestAnimationFrame(() => {
      view.chartScheduled = false;
      drawChart();
    });
  }

  // One bar per block received in the last few minutes, oldest left, as
  // tall as its transaction count; at most MAX_BARS, the newest.
  function drawChart() {
    const width = 600;
    const top = 8;
    const bottom = 132;
    const now = Date.now();
    view.chart = view.chart.filter((entry) => now - entry.at <= CHART_WINDOW_MS);
    const shown = view.chart.filter((entry) => entry.count > 0)
      .sort((a, b) => a.height - b.height)
      .slice(-MAX_BARS);
    const max = Math.max(1, ...shown.map((entry) => entry.count));

    const nodes = [
      svg('line', { x1: 0, y1: top, x2: width, y2: top, class: 'gridline' }),
      svg('line', { x1: 0, y1: bottom, x2: width, y2: bottom, class: 'baseline' }),
    ];
    // Few blocks keep a readable bar width instead of filling the width.
    const slot = width / Math.max(shown.length, MIN_SLOTS);
    shown.forEach((entry, index) => {
      const height = Math.max(2, (entry.count / max) * (bottom - top));
      const bar = svg('rect', {
        x: width - (shown.length - index) * slot + slot * 0.15,
        y: bottom - height,
        width: slot * 0.7,
        height,
        class: 'bar',
      });
      const title = svg('title', {});
      title.textContent = `block ${entry.height}: ${entry.count} transaction${entry.count === 1 ? '' : 's'}`;
      bar.append(title);
      nodes.push(bar);
    });
    el.chart.replaceChildren(...nodes);
    el.chartFirst.textContent = shown.length ? `block ${shown[0].height}` : 'no blocks yet';
    el.chartMax.textContent = `top line: ${max} per block`;
    el.chartLast.textContent = shown.length ? `block ${shown[shown.length - 1].height}` : '';
  }

  // ---- filters ----------------------------------------------------------

  function showFilterError(text) {
    el.filterError.textContent = text;
    el.filterError.hidden = false;
  }

  function hideFilterError() {
    el.filterError.textContent = '';
    el.filterError.hidden = true;
  }

  function fillFiltersFrom(params) {
    el.filterAssetId.value = params.get('asset_id') || '';
    el.filterPublicKey.value = params.get('public_key') || '';
    el.filterOperation.value = params.get('operation') || '';
    el.filterFromHeight.value = params.get('from_height') || '';
  }

  // Subscribes with the form's filters; the page's own URL keeps them, so
  // that a reload or a shared link shows the same view.
  function applyFilters() {
    hideFilterError();
    const filters = {};
    const assetId = el.filterAssetId.value.trim();
    const publicKey = el.filterPublicKey.value.trim();
    const operation = el.filterOperation.value;
    if (assetId) filters.asset_id = assetId;
    if (publicKey) filters.public_key = publicKey;
    if (operation) filters.operation = operation;
    const fromText = el.filterFromHeight.value.trim();
    if (fromText && !/^\d+$/.test(fromText)) {
      showFilterError('From height must be a whole number (or empty for live).');
      return;
    }
    stream.filters = filters;

    const params = new URLSearchParams(filters);
    if (fromText) params.set('from_height', fromText);
    const query = params.toString();
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
    restart(fromText ? Number(fromText) : null);
  }

  // ---- look up ----------------------------------------------------------

  async function lookUp() {
    const value = el.lookupValue.value.trim();
    if (!value) return;
    const paths = {
      transaction: `api/v1/transactions/${encodeURIComponent(value)}`,
      asset: `api/v1/transactions?asset_id=${encodeURIComponent(value)}`,
      outputs: `api/v1/outputs?public_key=${encodeURIComponent(value)}`,
    };
    const path = paths[el.lookupKind.value] || paths.transaction;
    el.lookupStatus.replaceChildren(`GET /${path} …`);
    el.lookupResult.hidden = true;
    try {
      const response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
      const text = await response.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch (error) {
        // Not JSON: show it as it came.
      }
      el.lookupStatus.replaceChildren(`${response.status} ${response.statusText} · `, link(path, `/${path}`));
      el.lookupResult.textContent = shown;
      el.lookupResult.hidden = false;
    } catch (error) {
      el.lookupStatus.replaceChildren(`GET /${path} failed: ${error.message}`);
    }
  }

  // ---- start ------------------------------------------------------------

  el.filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    applyFilters();
  });
  el.filterClear.addEventListener('click', () => {
    fillFiltersFrom(new URLSearchParams());
    applyFilters();
  });
  el.lookupForm.addEventListener('submit', (event) => {
    event.preventDefault();
    lookUp();
  });

  const initial = new URLSearchParams(location.search);
  fillFiltersFrom(initial);
  setInterval(pollHealth, HEALTH_EVERY_MS);
  setInterval(drawChart, 2000);
  pollHealth();
  if ([...initial.keys()].length > 0) {
    applyFilters();
  } else {
    drawChart();
    connect();
  }
})();
