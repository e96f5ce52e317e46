// nsqadmin's single-page app. Plain JavaScript, no build step: it routes on
// the client, polls the /api/ endpoints every few seconds and re-renders the
// figures, draws its own SVG graphs from /api/history, and asks before any
// destructive action.
(function () {
  'use strict';

  var BASE = document.body.getAttribute('data-base-path') || '';
  var POLL_MS = 3000;

  var state = {
    settings: null,
    gen: 0, // bumped on every navigation; stale polls compare and give up
    seq: 0, // bumped on every poll
    timer: null,
    page: null,
    rendered: {}, // region id -> last HTML, to skip DOM writes when nothing changed
  };

  // ---------- formatting ----------

  function esc(v) {
    return String(v === undefined || v === null ? '' : v)
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  }

  function num(n) {
    if (n === undefined || n === null || isNaN(n)) return '–';
    return Number(n).toLocaleString('en-US');
  }

  function rate(r) {
    if (r === undefined || r === null || isNaN(r)) return '–';
    if (r === 0) return '0';
    if (r < 10) return Number(r).toFixed(2);
    return Math.round(r).toLocaleString('en-US');
  }

  function duration(sec) {
    sec = Math.max(0, Math.floor(sec));
    var d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600);
    var m = Math.floor(sec % 3600 / 60), s = sec % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + s + 's';
    return s + 's';
  }

  function nanos(ns) {
    if (!ns) return '0';
    if (ns < 1e3) return ns + 'ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(1) + 'µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(1) + 'ms';
    return (ns / 1e9).toFixed(2) + 's';
  }

  function clock(ts) {
    var d = new Date(ts * 1000);
    function two(x) { return (x < 10 ? '0' : '') + x; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  function href(path) { return BASE + path; }
  // enc escapes a path segment; ':' stays readable (node names are host:port).
  function enc(s) { return encodeURIComponent(s).replace(/%3A/gi, ':'); }

  function link(path, text) {
    return '<a href="' + esc(href(path)) + '" data-nav>' + esc(text) + '</a>';
  }

  function pausedBadge(paused) {
    return paused ? ' <span class="badge paused" title="paused">paused</span>' : '';
  }

  // e2e processing latency as nsqd (and upstream's aggregate) report it:
  // {"percentiles":[{"quantile":0.99,"value":ns}, ...]}.
  function e2eText(e2e) {
    if (!e2e || !e2e.percentiles || !e2e.percentiles.length || !e2e.count) return '';
    return e2e.percentiles.map(function (p) {
      var v = p.value !== undefined ? p.value : (p.max !== undefined ? p.max : p.average);
      return 'p' + (p.quantile * 100).toFixed(p.quantile * 100 % 1 ? 1 : 0) + ' ' + nanos(v);
    }).join(', ');
  }

  // ---------- API ----------

  function api(method, path, body) {
    var opts = { method: method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(BASE + '/api' + path, opts).then(function (res) {
      return res.text().then(function (text) {
        var data = {};
        if (text) {
          try { data = JSON.parse(text); } catch (e) { data = { message: text.trim() }; }
        }
        if (!res.ok) {
          var err = new Error((data && data.message) || (res.status + ' ' + res.statusText));
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  function get(path) { return api('GET', path); }

  // ---------- regions, status, flash ----------

  function setRegion(id, html) {
    var el = document.getElementById(id);
    if (!el || state.rendered[id] === html) return;
    state.rendered[id] = html;
    el.innerHTML = html;
  }

  function flash(kind, text) {
    var area = document.getElementById('flash');
    var div = document.createElement('div');
    div.className = 'flash ' + kind;
    div.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    div.innerHTML = '<span class="flash-text">' + esc(text) + '</span><button type="button" class="flash-close" aria-label="dismiss">×</button>';
    area.appendChild(div);
    if (kind !== 'error') setTimeout(function () { div.remove(); }, 6000);
  }

  function clearFlash() { document.getElementById('flash').innerHTML = ''; }

  function setStatus(ok, text) {
    var el = document.getElementById('status');
    el.className = 'status ' + (ok ? 'ok' : 'stale');
    el.innerHTML = '<span class="dot"></span>' + esc(text);
  }

  // ---------- permissions ----------

  function canAdmin() {
    var s = state.settings;
    return !s || s.can_admin !== false;
  }

  // allowed says whether the signed-in user may act on the topic (channel
  // undefined) or channel. With the auth server's grants in the settings it
  // applies the server's rule: a topic action needs "publish" on a matching
  // topic, a channel action "subscribe" on a matching topic and channel
  // (regexps unanchored, as nsqd's). The server checks again either way.
  function allowed(topic, channel) {
    if (!canAdmin()) return false;
    var grants = state.settings && state.settings.authorizations;
    if (!state.settings || !state.settings.auth_required || !Array.isArray(grants)) return true;
    function match(re, v) { try { return new RegExp(re).test(v); } catch (e) { return true; } }
    return grants.some(function (g) {
      var perms = g.permissions || [];
      if (!match(g.topic, topic)) return false;
      if (channel === undefined) return perms.indexOf('publish') >= 0;
      return perms.indexOf('subscribe') >= 0 && (g.channels || []).some(function (c) { return match(c, channel); });
    });
  }

  function hasLookupd() {
    var s = state.settings;
    if (!s || !s.nsqlookupd_http_addresses) return true; // unknown: offer it and report the server's answer
    return s.nsqlookupd_http_addresses.length > 0;
  }

  // button renders an action button; data-* carry what the click handler needs.
  function button(label, action, params, cls) {
    var attrs = ' data-action="' + esc(action) + '"';
    Object.keys(params || {}).forEach(function (k) { attrs += ' data-' + k + '="' + esc(params[k]) + '"'; });
    var ok = params && params.topic !== undefined ? allowed(params.topic, params.channel) : canAdmin();
    var title = ok ? '' : ' title="' + esc(state.settings && state.settings.auth_required && !state.settings.user
      ? 'sign in to do this' : 'not allowed for this user') + '" disabled';
    return '<button type="button" class="btn ' + (cls || '') + '"' + attrs + title + '>' + esc(label) + '</button>';
  }

  // ---------- confirmation ----------

  function confirmAction(text, okLabel) {
    return new Promise(function (resolve) {
      var box = document.getElementById('confirm');
      var ok = document.getElementById('confirm-ok');
      var cancel = document.getElementById('confirm-cancel');
      document.getElementById('confirm-text').textContent = text;
      ok.textContent = okLabel;
      box.hidden = false;
      cancel.focus();
      function done(v) {
        box.hidden = true;
        ok.removeEventListener('click', yes);
        cancel.removeEventListener('click', no);
        box.removeEventListener('click', outside);
        document.removeEventListener('keydown', key);
        resolve(v);
      }
      function yes() { done(true); }
      function no() { done(false); }
      function outside(e) { if (e.target === box) done(false); }
      function key(e) { if (e.key === 'Escape') done(false); }
      ok.addEventListener('click', yes);
      cancel.addEventListener('click', no);
      box.addEventListener('click', outside);
      document.addEventListener('keydown', key);
    });
  }

  // ---------- actions ----------

  var actions = {
    'topic-pause': function (d) {
      return ask('Pause topic "' + d.topic + '"? Its channels stop receiving new messages until it is unpaused.', 'Pause topic')
        .then(go(function () { return api('POST', '/topics/' + enc(d.topic), { action: 'pause' }); }, 'Topic ' + d.topic + ' paused'));
    },
    'topic-unpause': function (d) {
      return api('POST', '/topics/' + enc(d.topic), { action: 'unpause' }).then(done('Topic ' + d.topic + ' unpaused'));
    },
    'topic-empty': function (d) {
      return ask('Empty topic "' + d.topic + '"? Every message queued in the topic (not yet in its channels) is dropped on every node.', 'Empty topic')
        .then(go(function () { return api('POST', '/topics/' + enc(d.topic), { action: 'empty' }); }, 'Topic ' + d.topic + ' emptied'));
    },
    'topic-delete': function (d) {
      return ask('Delete topic "' + d.topic + '" with all its channels and messages, on every node?', 'Delete topic')
        .then(go(function () { return api('DELETE', '/topics/' + enc(d.topic)); }, 'Topic ' + d.topic + ' deleted', '/'));
    },
    'channel-pause': function (d) {
      return ask('Pause channel "' + d.channel + '" of topic "' + d.topic + '"? Its consumers get no messages until it is unpaused.', 'Pause channel')
        .then(go(function () { return api('POST', '/topics/' + enc(d.topic) + '/' + enc(d.channel), { action: 'pause' }); }, 'Channel ' + d.channel + ' paused'));
    },
    'channel-unpause': function (d) {
      return api('POST', '/topics/' + enc(d.topic) + '/' + enc(d.channel), { action: 'unpause' }).then(done('Channel ' + d.channel + ' unpaused'));
    },
    'channel-empty': function (d) {
      return ask('Empty channel "' + d.channel + '" of topic "' + d.topic + '"? Its queued, in-flight and deferred messages are dropped on every node.', 'Empty channel')
        .then(go(function () { return api('POST', '/topics/' + enc(d.topic) + '/' + enc(d.channel), { action: 'empty' }); }, 'Channel ' + d.channel + ' emptied'));
    },
    'channel-delete': function (d) {
      return ask('Delete channel "' + d.channel + '" of topic "' + d.topic + '" with its messages, on every node?', 'Delete channel')
        .then(go(function () { return api('DELETE', '/topics/' + enc(d.topic) + '/' + enc(d.channel)); }, 'Channel ' + d.channel + ' deleted', '/topics/' + enc(d.topic)));
    },
    'tombstone': function (d) {
      return ask('Tombstone topic "' + d.topic + '" on node ' + d.node + '? The lookupds stop listing this node for the topic.', 'Tombstone')
        .then(go(function () { return api('DELETE', '/nodes/' + enc(d.node), { topic: d.topic }); }, 'Topic ' + d.topic + ' tombstoned on ' + d.node));
    },
    'sign-out': function () {
      return api('DELETE', '/auth').then(loadSettings).then(function () { navigate(); });
    },
  };

  var CANCELLED = {};
  function ask(text, label) {
    return confirmAction(text, label).then(function (yes) { if (!yes) throw CANCELLED; });
  }
  function go(fn, msg, then) { return function () { return fn().then(done(msg, then)); }; }
  function done(msg, then) {
    return function (answer) {
      // A partial failure is upstream's 200 with "message": "WARNING: ...".
      if (answer && answer.message) flash('error', msg + ', but: ' + answer.message);
      else flash('ok', msg);
      if (then) { history.pushState(null, '', href(then)); navigate(); } else refresh();
    };
  }

  function runAction(btn) {
    var fn = actions[btn.getAttribute('data-action')];
    if (!fn || btn.disabled) return;
    var d = {};
    Object.keys(btn.dataset).forEach(function (k) { d[k] = btn.dataset[k]; });
    btn.disabled = true;
    Promise.resolve().then(function () { return fn(d); }).catch(function (err) {
      if (err === CANCELLED) return;
      flash('error', err.message);
      // Refused: the sign-in may have expired; show what is allowed now.
      if (err.status === 403) loadSettings().then(refresh);
    }).then(function () { btn.disabled = false; });
  }

  // ---------- graphs ----------

  // chart draws one series of history points as a small SVG line chart with
  // a dot per point; data-points says how many were drawn (the browser tests
  // read it).
  function chart(title, points, key, fmt) {
    // Drawn at the width it will have on screen (one column on a phone,
    // two on a wider screen), so that its text keeps its size; the SVG
    // still scales if the window changes before the next poll.
    var W = chartWidth(), H = 170, L = 52, R = 8, T = 10, B = 20;
    var vals = points.map(function (p) { return Number(p[key]) || 0; });
    var n = vals.length;
    var last = n ? vals[n - 1] : null;
    var head = '<div class="chart-head"><span class="chart-title">' + esc(title) + '</span><span class="chart-last">' +
      (last === null ? '' : esc(fmt(last))) + '</span></div>';
    var svg = '<svg class="chart" data-series="' + esc(key) + '" data-points="' + n + '" data-max="' + (n ? Math.max.apply(null, vals) : 0) + '" viewBox="0 0 ' + W + ' ' + H +
      '" role="img" aria-label="' + esc(title) + '">';
    if (!n) {
      svg += '<text x="' + W / 2 + '" y="' + H / 2 + '" class="chart-empty" text-anchor="middle">no history yet</text></svg>';
      return '<figure class="chart-box">' + head + svg + '</figure>';
    }
    var max = Math.max.apply(null, vals), min = 0;
    var flat = max <= min;
    if (flat) max = min + 1;
    var t0 = points[0].ts, t1 = points[n - 1].ts;
    var span = Math.max(1, t1 - t0);
    function x(i) { return n === 1 ? (L + W - R) / 2 : L + (points[i].ts - t0) / span * (W - L - R); }
    function y(v) { return T + (1 - (v - min) / (max - min)) * (H - T - B); }
    var grid = '';
    (flat ? [0] : [0, 0.5, 1]).forEach(function (f) {
      var v = min + f * (max - min), yy = y(v).toFixed(1);
      grid += '<line class="grid" x1="' + L + '" x2="' + (W - R) + '" y1="' + yy + '" y2="' + yy + '"/>' +
        '<text class="axis" x="' + (L - 6) + '" y="' + (Number(yy) + 4) + '" text-anchor="end">' + esc(fmt(v)) + '</text>';
    });
    var pts = vals.map(function (v, i) { return x(i).toFixed(1) + ',' + y(v).toFixed(1); });
    var area = 'M' + x(0).toFixed(1) + ',' + y(min).toFixed(1) + ' L' + pts.join(' L') + ' L' + x(n - 1).toFixed(1) + ',' + y(min).toFixed(1) + ' Z';
    svg += grid + '<path class="area" d="' + area + '"/><polyline class="line" points="' + pts.join(' ') + '"/>';
    var dots = n <= 120 ? vals.map(function (v, i) {
      return '<circle class="pt" cx="' + x(i).toFixed(1) + '" cy="' + y(v).toFixed(1) + '" r="2.2"><title>' +
        esc(clock(points[i].ts) + '  ' + fmt(v)) + '</title></circle>';
    }).join('') : '';
    svg += dots + '<text class="axis" x="' + L + '" y="' + (H - 6) + '">' + esc(clock(t0)) + '</text>' +
      '<text class="axis" x="' + (W - R) + '" y="' + (H - 6) + '" text-anchor="end">' + esc(clock(t1)) + '</text></svg>';
    return '<figure class="chart-box">' + head + svg + '</figure>';
  }

  function chartWidth() {
    var el = document.getElementById('graphs') || document.getElementById('main');
    var w = el ? el.clientWidth : 960;
    var cols = w >= 2 * 420 + 12 ? 2 : 1;
    return Math.max(260, Math.round((w - 12 * (cols - 1)) / cols) - 22);
  }

  // graphite draws upstream's Graphite graphs (with --graphite-url): the
  // statsd keys nsqd sends, summed over every node ('*' for the host part
  // of --statsd-prefix), counters scaled to a per-second rate.
  function graphite(topic, channel) {
    var s = state.settings;
    if (!s || !s.graph_enabled || !s.graphite_url) return '';
    var render = (s.proxy_graphite ? BASE : s.graphite_url.replace(/\/+$/, '')) + '/render';
    var prefix = (s.statsd_prefix || '').replace(/%s/g, '*');
    if (prefix && prefix.charAt(prefix.length - 1) !== '.') prefix += '.';
    var key = prefix + 'topic.' + topic + (channel ? '.channel.' + channel : '') + '.';
    function counter(k) { return (s.statsd_counter_format || '%s').replace(/%s/g, k); }
    function gauge(k) { return (s.statsd_gauge_format || '%s').replace(/%s/g, k); }
    var targets = [
      ['Message rate (msgs/s)', 'alias(scaleToSeconds(sumSeries(' + counter(key + 'message_count') + '),1),"rate")'],
      ['Depth', 'alias(sumSeries(' + gauge(key + 'depth') + '),"depth")'],
    ];
    if (channel) targets.push(['In flight', 'alias(sumSeries(' + gauge(key + 'in_flight_count') + '),"in flight")']);
    var w = chartWidth();
    return '<h2>Graphite</h2><div class="charts graphite">' + targets.map(function (t) {
      var q = 'target=' + encodeURIComponent(t[1]) + '&from=-2h&width=' + w + '&height=200&hideLegend=true' +
        '&bgcolor=FFFFFF&fgcolor=333333&majorGridLineColor=DDDDDD&minorGridLineColor=EEEEEE&colorList=1F6FEB&lineWidth=2';
      return '<figure class="chart-box"><div class="chart-head"><span class="chart-title">' + esc(t[0]) + '</span></div>' +
        '<img class="graphite-graph" alt="' + esc(t[0]) + '" src="' + esc(render + '?' + q) + '"></figure>';
    }).join('') + '</div>';
  }

  function graphs(hist) {
    if (!hist) return '';
    if (hist.error) return '<p class="muted">Graphs unavailable: ' + esc(hist.error) + '</p>';
    var p = hist.points || [];
    return '<div class="charts">' +
      chart('Rate (msgs/s)', p, 'rate', rate) +
      chart('Depth', p, 'depth', num) +
      chart('In flight', p, 'in_flight', num) +
      chart('E2E latency p99', p, 'e2e_p99_ns', nanos) +
      '</div><p class="muted small">History every ' + esc(hist.resolution_seconds || '?') + 's, kept by nsqadmin in memory.</p>';
  }

  function loadHistory(topic, channel) {
    var q = '/history?topic=' + enc(topic) + (channel ? '&channel=' + enc(channel) : '');
    return get(q).catch(function (err) {
      // 404: nsqadmin has not polled this topic or channel yet.
      if (err.status === 404) return { points: [], resolution_seconds: state.settings && state.settings.history_resolution_seconds };
      return { error: err.message };
    });
  }

  // ---------- tables ----------

  function table(cls, head, rows, empty) {
    if (!rows.length) return '<p class="muted">' + esc(empty) + '</p>';
    return '<div class="table-wrap"><table class="' + cls + '"><thead><tr>' + head.map(function (h) {
      return '<th' + (h.charAt(0) === '#' ? ' class="n"' : '') + '>' + esc(h.replace(/^#/, '')) + '</th>';
    }).join('') + '</tr></thead><tbody>' + rows.join('') + '</tbody></table></div>';
  }

  function td(v, cls) { return '<td' + (cls ? ' class="' + cls + '"' : '') + '>' + v + '</td>'; }
  function tdn(v) { return td(esc(num(v)), 'n'); }

  function summary(items) {
    return '<dl class="summary">' + items.map(function (it) {
      return '<div class="stat' + (it[2] ? ' ' + it[2] : '') + '"><dt>' + esc(it[0]) + '</dt><dd>' + it[1] + '</dd></div>';
    }).join('') + '</dl>';
  }

  // ---------- pages ----------
  // A page has frame(params) -> HTML rendered once (forms live there), and
  // load(params) -> Promise of HTML for the live region (or of {regionID: HTML}),
  // re-run every poll.

  var pages = {};

  pages.topics = {
    section: 'topics',
    title: function () { return 'Topics'; },
    frame: function () { return '<h1>Topics</h1><div id="live"></div>'; },
    // The figures come from each node's stats (one request per nsqd, not
    // one per topic: a topic's own endpoint asks the lookupds and nsqds
    // again each time), summed per topic; the rate from nsqadmin's own
    // history, which costs no request to the cluster.
    load: function () {
      return Promise.all([get('/topics'), get('/nodes').catch(function (err) { return { nodes: [], message: err.message }; })]).then(function (r) {
        var d = r[0], nodes = r[1].nodes || [];
        var warnings = [d.message, r[1].message].filter(Boolean);
        var names = (d.topics || []).slice().sort();
        return Promise.all(nodes.map(function (n) {
          return get('/nodes/' + enc(n.broadcast_address + ':' + n.http_port)).catch(function (err) {
            warnings.push(n.broadcast_address + ':' + n.http_port + ': ' + err.message);
            return { topics: [] };
          });
        })).then(function (perNode) {
          var sums = {};
          perNode.forEach(function (nd) {
            if (nd.message) warnings.push(nd.message);
            (nd.topics || []).forEach(function (t) {
              var a = sums[t.topic_name] || (sums[t.topic_name] = { depth: 0, channel_depth: 0, message_count: 0, channels: {}, paused: false });
              a.depth += t.depth || 0;
              a.message_count += t.message_count || 0;
              a.paused = a.paused || !!t.paused;
              (t.channels || []).forEach(function (c) {
                a.channels[c.channel_name] = true;
                a.channel_depth += c.depth || 0;
              });
            });
          });
          var since = Math.floor(Date.now() / 1000 - 60);
          // Beyond a few hundred topics the rate is left out.
          return Promise.all(names.map(function (t, i) {
            if (i >= 300) return null;
            return get('/history?topic=' + enc(t) + '&since=' + since).catch(function () { return null; });
          })).then(function (hists) {
            var rows = names.map(function (t, i) {
              var a = sums[t], pts = hists[i] && hists[i].points || [];
              var r = pts.length ? pts[pts.length - 1].rate : null;
              if (!a) {
                return '<tr data-topic="' + esc(t) + '">' + td(link('/topics/' + enc(t), t) + ' <span class="badge" title="no nsqd has this topic">lookupd only</span>') +
                  td('–', 'n depth') + td('–', 'n channel-depth') + td(esc(rate(r)), 'n rate') + td('–', 'n channels') + td('–', 'n messages') + '</tr>';
              }
              return '<tr data-topic="' + esc(t) + '">' + td(link('/topics/' + enc(t), t) + pausedBadge(a.paused)) +
                td(esc(num(a.depth)), 'n depth') + td(esc(num(a.channel_depth)), 'n channel-depth') + td(esc(rate(r)), 'n rate') +
                td(esc(num(Object.keys(a.channels).length)), 'n channels') + td(esc(num(a.message_count)), 'n messages') + '</tr>';
            });
            return table('topics', ['Topic', '#Depth', '#Channels\' depth', '#Rate (msgs/s)', '#Channels', '#Messages'], rows,
              'No topics yet. Publish to one, or create one on the Lookup page.') +
              (warnings.length ? '<p class="warn-text">' + esc(warnings.join('; ')) + '</p>' : '');
          });
        });
      });
    },
  };

  pages.topic = {
    section: 'topics',
    title: function (p) { return 'Topic ' + p.topic; },
    frame: function (p) {
      return '<p class="crumbs">' + link('/', 'Topics') + ' /</p><h1>Topic <span class="name">' + esc(p.topic) + '</span></h1>' +
        '<div id="live"></div><h2>Graphs</h2><div id="graphs"></div>';
    },
    load: function (p) {
      return Promise.all([get('/topics/' + enc(p.topic)), loadHistory(p.topic)]).then(function (r) {
        var s = r[0], t = p.topic;
        var e2e = e2eText(s.e2e_processing_latency);
        var html = '<div class="actions">' +
          (s.paused ? button('Unpause', 'topic-unpause', { topic: t }) : button('Pause', 'topic-pause', { topic: t }, 'warn')) +
          button('Empty', 'topic-empty', { topic: t }, 'danger') + button('Delete', 'topic-delete', { topic: t }, 'danger') +
          (s.paused ? '<span class="badge paused big">Topic paused</span>' : '') + '</div>';
        html += summary([
          ['Depth', esc(num(s.depth)), 'depth'], ['In memory', esc(num(s.memory_depth))], ['On disk', esc(num(s.backend_depth))],
          ['Messages', esc(num(s.message_count)), 'messages'], ['Channels', esc(num((s.channels || []).length)), 'channels'],
        ].concat(e2e ? [['E2E latency', esc(e2e)]] : []));
        if (s.message) html += '<p class="warn-text">' + esc(s.message) + '</p>';
        var nodes = (s.nodes || []).map(function (n) {
          return '<tr data-node="' + esc(n.node) + '">' + td(link('/nodes/' + enc(n.node), n.node) + pausedBadge(n.paused)) +
            tdn(n.depth) + tdn(n.memory_depth) + tdn(n.backend_depth) + tdn(n.message_count) +
            td(hasLookupd() ? button('Tombstone', 'tombstone', { topic: t, node: n.node }, 'small danger') : '') + '</tr>';
        });
        html += '<h2>Nodes</h2>' + table('nodes', ['Node', '#Depth', '#Memory', '#Disk', '#Messages', ''], nodes, 'No node has this topic.');
        var chans = (s.channels || []).slice().sort(function (a, b) { return a.channel_name < b.channel_name ? -1 : 1; }).map(function (c) {
          return '<tr data-channel="' + esc(c.channel_name) + '">' + td(link('/topics/' + enc(t) + '/' + enc(c.channel_name), c.channel_name) + pausedBadge(c.paused)) +
            tdn(c.depth) + tdn(c.memory_depth) + tdn(c.backend_depth) + tdn(c.in_flight_count) + tdn(c.deferred_count) +
            tdn(c.requeue_count) + tdn(c.timeout_count) + tdn(c.message_count) +
            tdn(c.client_count !== undefined ? c.client_count : (c.clients || []).length) + '</tr>';
        });
        html += '<h2>Channels</h2>' + table('channels', ['Channel', '#Depth', '#Memory', '#Disk', '#In flight', '#Deferred', '#Requeued', '#Timed out', '#Messages', '#Clients'], chans, 'No channels.');
        return { live: html, graphs: graphs(r[1]) + graphite(t) };
      });
    },
  };

  pages.channel = {
    section: 'topics',
    title: function (p) { return 'Channel ' + p.topic + '/' + p.channel; },
    frame: function (p) {
      return '<p class="crumbs">' + link('/', 'Topics') + ' / ' + link('/topics/' + enc(p.topic), p.topic) + ' /</p>' +
        '<h1>Channel <span class="name">' + esc(p.channel) + '</span></h1><div id="live"></div><h2>Graphs</h2><div id="graphs"></div>';
    },
    load: function (p) {
      return Promise.all([get('/topics/' + enc(p.topic) + '/' + enc(p.channel)), loadHistory(p.topic, p.channel)]).then(function (r) {
        var s = r[0], t = p.topic, c = p.channel, prm = { topic: t, channel: c };
        if (!s.channel_name) {
          return { live: '<p class="error-text" role="alert">No node has channel ' + esc(c) + ' of topic ' + esc(t) + '.' +
            (s.message ? ' ' + esc(s.message) : '') + '</p>', graphs: '' };
        }
        var e2e = e2eText(s.e2e_processing_latency);
        var clients = s.clients || [];
        var html = '<div class="actions">' +
          (s.paused ? button('Unpause', 'channel-unpause', prm) : button('Pause', 'channel-pause', prm, 'warn')) +
          button('Empty', 'channel-empty', prm, 'danger') + button('Delete', 'channel-delete', prm, 'danger') +
          (s.paused ? '<span class="badge paused big">Channel paused</span>' : '') + '</div>';
        html += summary([
          ['Depth', esc(num(s.depth)), 'depth'], ['In memory', esc(num(s.memory_depth))], ['On disk', esc(num(s.backend_depth))],
          ['In flight', esc(num(s.in_flight_count)), 'in-flight'], ['Deferred', esc(num(s.deferred_count)), 'deferred'],
          ['Requeued', esc(num(s.requeue_count)), 'requeued'], ['Timed out', esc(num(s.timeout_count)), 'timed-out'],
          ['Messages', esc(num(s.message_count)), 'messages'], ['Clients', esc(num(clients.length)), 'clients'],
        ].concat(e2e ? [['E2E latency', esc(e2e)]] : []));
        if (s.message) html += '<p class="warn-text">' + esc(s.message) + '</p>';
        var nodes = (s.nodes || []).map(function (n) {
          return '<tr data-node="' + esc(n.node) + '">' + td(link('/nodes/' + enc(n.node), n.node) + pausedBadge(n.paused)) +
            tdn(n.depth) + tdn(n.memory_depth) + tdn(n.backend_depth) + tdn(n.in_flight_count) + tdn(n.deferred_count) +
            tdn(n.requeue_count) + tdn(n.timeout_count) + tdn(n.message_count) +
            tdn(n.client_count !== undefined ? n.client_count : (n.clients || []).length) + '</tr>';
        });
        html += '<h2>Nodes</h2>' + table('nodes', ['Node', '#Depth', '#Memory', '#Disk', '#In flight', '#Deferred', '#Requeued', '#Timed out', '#Messages', '#Clients'], nodes, 'No node has this channel.');
        var now = Date.now() / 1000;
        var rows = clients.slice().sort(function (a, b) {
          return (a.hostname + a.client_id) < (b.hostname + b.client_id) ? -1 : 1;
        }).map(function (cl) {
          var attrs = [];
          if (cl.tls) attrs.push('<span class="badge tls" title="' + esc(cl.tls_cipher_suite || '') + '">' + esc(cl.tls_version || 'TLS') + '</span>');
          if (cl.deflate) attrs.push('<span class="badge">deflate</span>');
          if (cl.snappy) attrs.push('<span class="badge">snappy</span>');
          if (cl.authed) attrs.push('<span class="badge auth">auth' + (cl.auth_identity ? ': ' + esc(cl.auth_identity) : '') + '</span>');
          if (cl.sample_rate > 0) attrs.push('<span class="badge">sample ' + esc(cl.sample_rate) + '%</span>');
          var connected = cl.connect_ts ? now - cl.connect_ts : (cl.connected || 0) / 1e9;
          return '<tr data-client="' + esc(cl.client_id) + '">' +
            td('<span class="client-host">' + esc(cl.hostname) + '</span><br><span class="muted small">' + esc(cl.client_id) + ' · ' + esc(cl.remote_address) + '</span>') +
            td(esc(cl.node ? cl.node : '')) + td(esc(cl.user_agent || ('V' + (cl.version || '').replace(/^V/, ''))), 'ua') +
            td(attrs.join(' ') || '<span class="muted">–</span>', 'attrs') +
            tdn(cl.in_flight_count) + tdn(cl.ready_count) + tdn(cl.finish_count) + tdn(cl.requeue_count) + tdn(cl.message_count) +
            td(esc(duration(connected)), 'n connected') + '</tr>';
        });
        html += '<h2>Clients</h2>' + table('clients', ['Client', 'Node', 'User agent', 'Attributes', '#In flight', '#Ready', '#Finished', '#Requeued', '#Messages', '#Connected'], rows, 'No clients connected.');
        return { live: html, graphs: graphs(r[1]) + graphite(t, c) };
      });
    },
  };

  pages.nodes = {
    section: 'nodes',
    title: function () { return 'Nodes'; },
    frame: function () { return '<h1>Nodes</h1><div id="live"></div>'; },
    load: function () {
      return get('/nodes').then(function (d) {
        var nodes = (d.nodes || []).slice().sort(function (a, b) { return (a.hostname + a.broadcast_address) < (b.hostname + b.broadcast_address) ? -1 : 1; });
        var rows = nodes.map(function (n) {
          var key = n.broadcast_address + ':' + n.http_port;
          var topics = (n.topics || []).map(function (t) {
            var name = typeof t === 'string' ? t : t.topic;
            return '<span class="tag' + (t.tombstoned ? ' tombstoned' : '') + '"' + (t.tombstoned ? ' title="tombstoned"' : '') + '>' +
              link('/topics/' + enc(name), name) + '</span>';
          }).join(' ');
          return '<tr data-node="' + esc(key) + '">' + td(link('/nodes/' + enc(key), n.hostname || key)) +
            td(esc(n.broadcast_address)) + td(esc(n.tcp_port), 'n') + td(esc(n.http_port), 'n') +
            td(esc(n.version) + (n.out_of_date ? ' <span class="badge warn">out of date</span>' : '')) +
            tdn((n.remote_addresses || []).length) + td(topics || '<span class="muted">none</span>', 'tags') + '</tr>';
        });
        return table('nodes', ['Hostname', 'Broadcast address', '#TCP', '#HTTP', 'Version', '#Lookupd conns', 'Topics'], rows, 'No nsqd nodes found.') +
          (d.message ? '<p class="warn-text">' + esc(d.message) + '</p>' : '');
      });
    },
  };

  pages.node = {
    section: 'nodes',
    title: function (p) { return 'Node ' + p.node; },
    frame: function (p) {
      return '<p class="crumbs">' + link('/nodes', 'Nodes') + ' /</p><h1>Node <span class="name">' + esc(p.node) + '</span></h1><div id="live"></div>';
    },
    load: function (p) {
      return get('/nodes/' + enc(p.node)).then(function (d) {
        var topics = (d.topics || []).slice().sort(function (a, b) { return a.topic_name < b.topic_name ? -1 : 1; });
        var nchan = 0;
        var rows = [];
        topics.forEach(function (t) {
          var chans = (t.channels || []).slice().sort(function (a, b) { return a.channel_name < b.channel_name ? -1 : 1; });
          nchan += chans.length;
          rows.push('<tr class="topic-row" data-topic="' + esc(t.topic_name) + '">' + td(link('/topics/' + enc(t.topic_name), t.topic_name) + pausedBadge(t.paused)) +
            tdn(t.depth) + tdn(t.memory_depth) + tdn(t.backend_depth) + td('', 'n') + td('', 'n') + td('', 'n') + td('', 'n') + tdn(t.message_count) + td('', 'n') + '</tr>');
          chans.forEach(function (c) {
            rows.push('<tr class="channel-row" data-channel="' + esc(t.topic_name + '/' + c.channel_name) + '">' +
              td('<span class="indent">↳</span>' + link('/topics/' + enc(t.topic_name) + '/' + enc(c.channel_name), c.channel_name) + pausedBadge(c.paused)) +
              tdn(c.depth) + tdn(c.memory_depth) + tdn(c.backend_depth) + tdn(c.in_flight_count) + tdn(c.deferred_count) +
              tdn(c.requeue_count) + tdn(c.timeout_count) + tdn(c.message_count) +
              tdn(c.client_count !== undefined ? c.client_count : (c.clients || []).length) + '</tr>');
          });
        });
        return summary([
          ['Topics', esc(num(topics.length)), 'topics'], ['Channels', esc(num(nchan)), 'channels'],
          ['Messages', esc(num(d.total_messages)), 'messages'], ['Clients', esc(num(d.total_clients)), 'clients'],
        ]) + (d.message ? '<p class="warn-text">' + esc(d.message) + '</p>' : '') +
          '<h2>Topics and channels</h2>' + table('node-topics', ['Topic / channel', '#Depth', '#Memory', '#Disk', '#In flight', '#Deferred', '#Requeued', '#Timed out', '#Messages', '#Clients'], rows, 'This node has no topics.');
      });
    },
  };

  pages.counter = {
    section: 'counter',
    title: function () { return 'Message counter'; },
    frame: function () { return '<h1>Messages processed</h1><div id="live"></div>'; },
    last: null,
    load: function () {
      var self = this;
      return get('/counter').then(function (d) {
        var total = 0;
        // Upstream answers a map keyed "topic:channel:node"; a list is read too.
        var stats = d.stats || {};
        Object.keys(stats).forEach(function (k) { total += stats[k].message_count || 0; });
        var now = Date.now() / 1000, r = null;
        if (self.last && now > self.last.at && total >= self.last.total) r = (total - self.last.total) / (now - self.last.at);
        if (!self.last || now - self.last.at > 1) self.last = { total: total, at: now };
        return '<div class="counter"><div class="counter-value" id="counter-value">' + esc(num(total)) + '</div>' +
          '<div class="muted">messages delivered to channels, summed over every channel of every node' +
          (r === null ? '' : ' · ' + esc(rate(r)) + ' msgs/s') + '</div></div>' +
          (d.message ? '<p class="warn-text">' + esc(d.message) + '</p>' : '');
      });
    },
  };

  var TOPIC_RE = /^[.a-zA-Z0-9_-]+(#ephemeral)?$/;

  pages.lookup = {
    section: 'lookup',
    title: function () { return 'Lookup'; },
    frame: function () {
      return '<h1>Lookup</h1><section class="card"><h2>Create a topic or channel in the lookupds</h2>' +
        '<form id="create-form" class="create-form" autocomplete="off">' +
        '<label>Topic <input name="topic" id="create-topic" required maxlength="64" placeholder="topic name"></label>' +
        '<label><span>Channel <span class="small">(optional)</span></span> <input name="channel" id="create-channel" maxlength="64" placeholder="channel name"></label>' +
        '<button type="submit" class="btn primary" id="create-submit"' + (canAdmin() ? '' : ' disabled title="not allowed"') + '>Create</button></form>' +
        '<p class="muted small">Creates the registration in every nsqlookupd; nsqd creates the topic when a producer or consumer first uses it.</p></section>' +
        '<div id="live"></div>';
    },
    mount: function () {
      var form = document.getElementById('create-form');
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var topic = form.topic.value.trim(), channel = form.channel.value.trim();
        if (!TOPIC_RE.test(topic) || topic.length > 64) { flash('error', 'invalid topic name "' + topic + '"'); return; }
        if (channel && (!TOPIC_RE.test(channel) || channel.length > 64)) { flash('error', 'invalid channel name "' + channel + '"'); return; }
        var body = { topic: topic };
        if (channel) body.channel = channel;
        api('POST', '/topics', body).then(function () {
          flash('ok', 'Created ' + topic + (channel ? '/' + channel : '') + ' in the lookupds');
          form.reset();
          refresh();
        }, function (err) { flash('error', err.message); });
      });
    },
    load: function () {
      return Promise.all([get('/topics'), get('/topics?inactive=true').catch(function () { return null; })]).then(function (r) {
        var names = (r[0].topics || []).slice().sort();
        var inactive = r[1] && r[1].topics && !Array.isArray(r[1].topics) ? r[1].topics : {};
        var html = '<h2>Topics known to the cluster</h2>' + (names.length ? '<ul class="taglist">' + names.map(function (t) {
          return '<li class="tag" data-topic="' + esc(t) + '">' + link('/topics/' + enc(t), t) + '</li>';
        }).join('') + '</ul>' : '<p class="muted">No topics.</p>');
        var ik = Object.keys(inactive).sort();
        if (ik.length) {
          html += '<h2>In lookupd without a producer</h2><ul class="plain">' + ik.map(function (t) {
            return '<li data-inactive-topic="' + esc(t) + '"><strong>' + esc(t) + '</strong>' +
              ((inactive[t] || []).length ? ': ' + inactive[t].map(esc).join(', ') : '') + '</li>';
          }).join('') + '</ul>';
        }
        if (r[0].message) html += '<p class="warn-text">' + esc(r[0].message) + '</p>';
        return html;
      });
    },
  };

  pages.notfound = {
    section: '',
    title: function () { return 'Not found'; },
    frame: function () { return '<h1>Not found</h1><p>' + link('/', 'Back to the topics') + '</p>'; },
  };

  // ---------- routing ----------

  function route() {
    var path = location.pathname;
    if (BASE && path.indexOf(BASE) === 0) path = path.slice(BASE.length);
    var parts = path.split('/').filter(function (s) { return s !== ''; }).map(function (s) {
      try { return decodeURIComponent(s); } catch (e) { return s; }
    });
    if (parts.length === 0 || (parts.length === 1 && parts[0] === 'topics')) return [pages.topics, {}];
    if (parts[0] === 'topics' && parts.length === 2) return [pages.topic, { topic: parts[1] }];
    if (parts[0] === 'topics' && parts.length === 3) return [pages.channel, { topic: parts[1], channel: parts[2] }];
    if (parts[0] === 'nodes' && parts.length === 1) return [pages.nodes, {}];
    if (parts[0] === 'nodes' && parts.length === 2) return [pages.node, { node: parts[1] }];
    if (parts[0] === 'counter' && parts.length === 1) return [pages.counter, {}];
    if (parts[0] === 'lookup' && parts.length === 1) return [pages.lookup, {}];
    return [pages.notfound, {}];
  }

  function navigate() {
    var r = route(), page = r[0], params = r[1];
    state.gen++;
    clearTimeout(state.timer);
    state.page = r;
    state.rendered = {};
    if (page.last !== undefined) page.last = null;
    document.title = page.title(params) + ' · nsqadmin';
    Array.prototype.forEach.call(document.querySelectorAll('#nav a'), function (a) {
      a.classList.toggle('active', a.getAttribute('data-section') === page.section);
    });
    document.getElementById('main').innerHTML = page.frame(params);
    if (page.mount) page.mount(params);
    window.scrollTo(0, 0);
    refresh();
  }

  // refresh loads the current page's live figures now, then every POLL_MS.
  function refresh() {
    var r = state.page, page = r[0], params = r[1];
    // seq identifies this poll: an action's refresh supersedes a poll in
    // flight, so only the newest one renders and schedules the next.
    var seq = ++state.seq, gen = state.gen;
    clearTimeout(state.timer);
    if (!page.load) return;
    function current() { return seq === state.seq && gen === state.gen; }
    // A hidden tab asks the cluster nothing; it catches up when shown
    // (see the visibilitychange listener).
    if (document.hidden && state.rendered.live) {
      state.timer = setTimeout(refresh, POLL_MS);
      return;
    }
    page.load(params).then(function (out) {
      if (!current()) return;
      if (typeof out === 'string') out = { live: out };
      Object.keys(out).forEach(function (id) { setRegion(id, out[id]); });
      setStatus(true, 'live · updated ' + clock(Date.now() / 1000));
    }, function (err) {
      if (!current()) return;
      if (!state.rendered.live) setRegion('live', '<p class="error-text" role="alert">' + esc(err.message) + '</p>');
      setStatus(false, 'update failed: ' + err.message + ' · retrying');
    }).then(function () {
      if (!current()) return;
      document.body.setAttribute('data-loaded', String(gen));
      state.timer = setTimeout(refresh, POLL_MS);
    });
  }

  // ---------- settings and sign-in ----------

  function loadSettings() {
    return get('/settings').then(function (s) { state.settings = s; }, function () { state.settings = null; }).then(renderAuth);
  }

  function renderAuth() {
    var s = state.settings, el = document.getElementById('auth');
    if (!s || !s.auth_required) {
      el.innerHTML = s && s.user ? '<span class="user">' + esc(s.user) + '</span>' : '';
      return;
    }
    if (s.user) {
      el.innerHTML = '<span class="user" title="' + (s.can_admin ? 'may act' : 'read only') + '">' + esc(s.user) +
        (s.can_admin ? '' : ' <span class="badge">read only</span>') + '</span> ' +
        '<button type="button" class="btn small" data-action="sign-out" id="sign-out">Sign out</button>';
      return;
    }
    el.innerHTML = '<form id="auth-form" class="auth-form"><input type="password" id="auth-secret" name="secret" placeholder="auth secret" autocomplete="current-password" aria-label="auth secret">' +
      '<button type="submit" class="btn small primary">Sign in</button></form>';
    document.getElementById('auth-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var secret = document.getElementById('auth-secret').value;
      api('POST', '/auth', { secret: secret }).then(function () {
        clearFlash();
        return loadSettings().then(function () { navigate(); flash('ok', 'Signed in as ' + (state.settings.user || 'user')); });
      }, function (err) { flash('error', 'sign-in refused: ' + err.message); });
    });
  }

  // ---------- wiring ----------

  document.addEventListener('click', function (e) {
    var closeBtn = e.target.closest('.flash-close');
    if (closeBtn) { closeBtn.parentNode.remove(); return; }
    var a = e.target.closest('a[data-nav]');
    if (a && e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey) {
      e.preventDefault();
      if (a.href !== location.href) history.pushState(null, '', a.href);
      clearFlash();
      navigate();
      return;
    }
    var btn = e.target.closest('button[data-action]');
    if (btn) runAction(btn);
  });
  window.addEventListener('popstate', navigate);
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && state.page) refresh();
  });

  loadSettings().then(navigate);
})();
