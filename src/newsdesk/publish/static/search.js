/* newsdesk static search: offline, Chinese, loaded on demand.
 *
 * The index (built by newsdesk/publish/site_search.py, where the format is documented) is a
 * set of small scripts, each calling NDS(name, data): scripts load from file:// too, where
 * fetch() is not allowed. A query is normalised (Traditional→Simplified table, lowercase),
 * split at non-word characters, covered with the fewest vocabulary tokens, and only the
 * dictionary and postings shards of those tokens are loaded.
 */
(function () {
  "use strict";
  var me = document.currentScript;
  var base = me.getAttribute("data-index");
  var root = me.getAttribute("data-root") || "";
  var cache = Object.create(null);
  var waiting = Object.create(null);
  var PAGE = 20;
  var MAX_TOKEN = 24;

  window.NDS = function (name, data) {
    cache[name] = data;
  };

  // Load one shard; resolves with its data, or null when the shard does not exist.
  function load(name) {
    if (name in cache) return Promise.resolve(cache[name]);
    if (waiting[name]) return waiting[name];
    waiting[name] = new Promise(function (resolve) {
      var s = document.createElement("script");
      s.src = base + name + ".js";
      s.onload = s.onerror = function () {
        s.remove();
        delete waiting[name];
        if (!(name in cache)) cache[name] = null;
        resolve(cache[name]);
      };
      document.head.appendChild(s);
    });
    return waiting[name];
  }

  // CRC-32 of the UTF-8 bytes: the builder's shard function (zlib.crc32).
  var CRC = (function () {
    var table = new Uint32Array(256);
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  })();
  var utf8 = new TextEncoder();
  function crc32(text) {
    var bytes = utf8.encode(text);
    var c = 0xffffffff;
    for (var i = 0; i < bytes.length; i++) c = CRC[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  var t2sMap = null;
  function t2s() {
    if (t2sMap) return Promise.resolve(t2sMap);
    return load("t2s").then(function (pairs) {
      t2sMap = Object.create(null);
      var cps = Array.from(pairs || "");
      for (var i = 0; i + 1 < cps.length; i += 2) t2sMap[cps[i]] = cps[i + 1];
      return t2sMap;
    });
  }

  // Full-width letters, digits, '.' and '%' become ASCII (as the tokenizer does), then
  // Traditional → Simplified by the table, then lowercase.
  function normalise(query, map) {
    var out = "";
    for (var ch of query) {
      var cp = ch.codePointAt(0);
      if (cp === 0xff05 || cp === 0xff0e || (cp >= 0xff10 && cp <= 0xff19) ||
          (cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a)) {
        ch = String.fromCharCode(cp - 0xfee0);
      }
      out += map[ch] || ch;
    }
    return out.toLowerCase();
  }

  // The fewest vocabulary tokens that cover `chars` exactly, or null.
  function cover(chars, known) {
    var n = chars.length;
    var best = new Array(n + 1).fill(null);
    best[0] = [];
    for (var i = 0; i < n; i++) {
      if (!best[i]) continue;
      for (var j = Math.min(n, i + MAX_TOKEN); j > i; j--) {
        var tok = chars.slice(i, j).join("");
        if (known(tok) && (!best[j] || best[j].length > best[i].length + 1)) best[j] = best[i].concat([tok]);
      }
    }
    return best[n];
  }

  function decode(deltas) {
    var out = [];
    var total = 0;
    for (var i = 0; i < deltas.length; i++) out.push((total += deltas[i]));
    return out;
  }

  function intersect(a, b) {
    var out = [];
    var i = 0;
    var j = 0;
    while (i < a.length && j < b.length) {
      if (a[i] === b[j]) { out.push(a[i]); i++; j++; }
      else if (a[i] < b[j]) i++;
      else j++;
    }
    return out;
  }

  // Docids (newest first) of the documents holding every token of the query.
  function query(text) {
    return Promise.all([load("index"), t2s()]).then(function (got) {
      var info = got[0];
      var q = normalise(text, got[1]);
      var runs = q.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
      if (!runs.length) return { tokens: [], ids: [] };
      var buckets = new Set();
      runs.forEach(function (r) { for (var ch of r) buckets.add(crc32(ch) % info.db); });
      var dicts = Object.create(null);
      return Promise.all(Array.from(buckets).map(function (b) {
        return load("d/" + b).then(function (d) { dicts[b] = d || {}; });
      })).then(function () {
        function mask(tok) {
          var d = dicts[crc32(Array.from(tok)[0]) % info.db];
          return d && Object.prototype.hasOwnProperty.call(d, tok) ? d[tok] : null;
        }
        var tokens = [];
        for (var r of runs) {
          var c = cover(Array.from(r), function (t) { return mask(t) !== null; });
          if (!c) return { tokens: [], ids: [], missing: r };
          c.forEach(function (t) { if (tokens.indexOf(t) < 0) tokens.push(t); });
        }
        var m = tokens.reduce(function (acc, t) { return acc & BigInt("0x" + mask(t)); }, -1n);
        var segs = [];
        for (var k = 0; m > 0n; k++, m >>= 1n) if (m & 1n) segs.push(k);
        segs.reverse();
        return Promise.all(segs.map(function (k) {
          return Promise.all(tokens.map(function (t) {
            // The segment's postings, then (newest segment) its tail: later docids, so the
            // two lists joined are still in order.
            var names = ["s" + k + "/" + (crc32(t) % info.pb)];
            var tb = crc32(t) % info.tb;
            if (k === info.tl && (BigInt("0x" + info.tm) >> BigInt(tb)) & 1n) names.push("s" + k + "/t" + tb);
            return Promise.all(names.map(load)).then(function (parts) {
              return [].concat.apply([], parts.map(function (p) { return decode((p && p[t]) || []); }));
            });
          })).then(function (lists) {
            lists.sort(function (a, b) { return a.length - b.length; });
            var ids = lists.reduce(intersect);
            return ids.map(function (i) { return k * info.seg + i; }).reverse();
          });
        })).then(function (perSeg) {
          return { tokens: tokens, ids: [].concat.apply([], perSeg), info: info };
        });
      });
    });
  }

  // Result records for `ids` (dead ones, of changed or removed articles, are skipped).
  function records(ids, info) {
    return Promise.all(ids.map(function (id) {
      var shard = Math.floor(id / info.ms);
      return load("m/" + shard).then(function (recs) {
        var rec = recs && recs[id - shard * info.ms];
        return rec ? rec : null;
      });
    }));
  }

  var form = document.getElementById("search-form");
  var input = document.getElementById("search-q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var more = document.getElementById("search-more");
  var current = null;

  function show(recs) {
    recs.forEach(function (rec) {
      if (!rec) return;
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = root + rec[0];
      a.textContent = rec[1] || "（无标题）";
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = rec[3] + " · " + rec[2];
      li.appendChild(a);
      li.appendChild(meta);
      list.appendChild(li);
    });
  }

  function next() {
    var batch = current.ids.slice(current.shown, current.shown + PAGE);
    current.shown += batch.length;
    more.hidden = current.shown >= current.ids.length;
    return records(batch, current.info).then(show);
  }

  function run(text) {
    list.textContent = "";
    more.hidden = true;
    text = text.trim();
    if (!text) { status.textContent = ""; return Promise.resolve(); }
    status.textContent = "正在搜索…";
    var started = Date.now();
    return query(text).then(function (res) {
      current = { ids: res.ids, shown: 0, info: res.info };
      if (!res.ids.length) {
        status.textContent = "没有找到与“" + text + "”相关的文章。";
        return;
      }
      status.textContent = "找到 " + res.ids.length + " 篇相关文章（" + (Date.now() - started) + " 毫秒）";
      return next();
    }).then(function () {
      document.body.setAttribute("data-search-done", text);
    }, function (err) {
      status.textContent = "搜索出错：" + err;
    });
  }

  more.addEventListener("click", next);
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value;
    try { history.replaceState(null, "", "?q=" + encodeURIComponent(text)); } catch (e) { /* file:// in some browsers */ }
    run(text);
  });
  var initial = new URLSearchParams(location.search).get("q");
  if (initial) {
    input.value = initial;
    run(initial);
  }
})();
