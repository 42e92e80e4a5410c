// 指挥中心 and 大屏: the district map with clustered case markers, kept current by the page's event stream
// (htmx-ext-sse), the queue's new rows marked, the live indicator, and the wall's clock.
// No inline scripts anywhere (the Content-Security-Policy forbids them); the pages pass data in data-* attributes.
(function () {
  "use strict";

  var layerCache = {};
  var maps = [];

  function layer(name) {
    if (!layerCache[name]) {
      layerCache[name] = fetch("/city/" + name + ".geojson", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("map layer " + name + ": HTTP " + r.status); }
        return r.json();
      });
    }
    return layerCache[name];
  }

  // One map of the district from the city's own layers (no tiles), with the open cases as markers.
  function OfficeMap(el) {
    this.el = el;
    this.wall = el.hasAttribute("data-wall");
    this.markers = {};
    this.legend = null;
    this.count = 0;
    var map = this.map = L.map(el, {
      zoomControl: !this.wall, scrollWheelZoom: !this.wall, zoomSnap: 0.1, minZoom: 9, maxZoom: 18
    });
    map.attributionControl.setPrefix("Leaflet");
    map.createPane("labels").style.zIndex = 450;  // the places' names under the markers, above the areas
    var self = this;
    this.cluster = L.markerClusterGroup({
      showCoverageOnHover: false,
      maxClusterRadius: 42,
      spiderfyOnMaxZoom: true,
      chunkedLoading: true,
      iconCreateFunction: function (cluster) { return self.clusterIcon(cluster); }
    });
    Promise.all([layer("district"), layer("territories"), layer("grids"), layer("roads")]).then(function (ls) {
      var outline = self.wall ? "#74c0fc" : "#0f3a6b";
      var district = L.geoJSON(ls[0], { style: { color: outline, weight: 2.5, fill: false }, interactive: false });
      L.geoJSON(ls[1], {
        interactive: false,
        style: { color: "#7b93ad", weight: 1.2, fillColor: self.wall ? "#16304f" : "#eef3f8", fillOpacity: 1 },
        onEachFeature: function (f, l) {
          l.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "map-label", pane: "labels" });
        }
      }).addTo(map);
      L.geoJSON(ls[2], { interactive: false, style: { color: self.wall ? "#35547a" : "#a9b8c8", weight: 0.6, dashArray: "3 3", fill: false } }).addTo(map);
      L.geoJSON(ls[3], { interactive: false, style: { color: self.wall ? "#8a7a5a" : "#c8a46e", weight: 3, opacity: 0.85 } }).addTo(map);
      district.addTo(map);
      // The places' names only where there is room for them.
      map.on("zoomend", function () { el.classList.toggle("labels-off", map.getZoom() < 10.5); });
      map.fitBounds(district.getBounds(), { padding: [8, 8] });
      map.addLayer(self.cluster);
      return self.load();
    }).catch(function (error) {
      var text = error && error.message ? error.message : String(error);
      el.setAttribute("data-error", text);
      el.textContent = "地图数据加载失败：" + text;
      if (window.console) { console.error("office map:", error); }
    });
  }

  OfficeMap.prototype.load = function () {
    var self = this;
    return fetch(this.el.getAttribute("data-src"), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (data) {
      self.legend = data.legend;
      self.origin = data.origin;
      self.step = data.step;
      self.cluster.clearLayers();
      self.markers = {};
      var list = [];
      var x = 0;
      for (var i = 0; i < data.count; i++) {
        x += data.dx[i];
        var m = self.marker(data.ids.substr(i * 8, 8), x, data.y[i], data.k[i]);
        self.markers[m.options.key] = m;
        list.push(m);
      }
      self.cluster.addLayers(list);
      self.counted();
      self.el.setAttribute("data-loaded", String(Date.now()));
    });
  };

  OfficeMap.prototype.marker = function (id, x, y, code) {
    var rungs = this.legend.rungs;
    var status = this.legend.statuses[Math.floor(code / rungs)] || "reported";
    var rung = code % rungs;
    var lon = this.origin[0] + x * this.step, lat = this.origin[1] + y * this.step;
    var statusName = this.legend.status_names[this.legend.statuses.indexOf(status)] || status;
    var title = statusName + (rung ? " · " + (this.legend.rung_names[String(rung)] || "第" + rung + "级") : "") + " · 案件 " + id;
    var css = "mk mk-" + status + (rung ? " mk-r" + Math.min(rung, 4) : "");
    var marker = L.marker([lat, lon], {
      icon: L.divIcon({ className: css, iconSize: [16, 16] }),
      title: title,
      keyboard: !this.wall,
      interactive: !this.wall,
      riseOnHover: true,
      key: id,
      rung: rung
    });
    if (!this.wall) {
      marker.on("click", function () {
        window.location.href = "/command/pick?id=" + id + "&lon=" + lon.toFixed(5) + "&lat=" + lat.toFixed(5);
      });
    }
    return marker;
  };

  OfficeMap.prototype.clusterIcon = function (cluster) {
    var n = cluster.getChildCount();
    var worst = 0;
    cluster.getAllChildMarkers().forEach(function (m) { worst = Math.max(worst, m.options.rung || 0); });
    var size = n < 10 ? 34 : n < 100 ? 40 : n < 1000 ? 48 : 56;
    var tone = worst >= 2 ? "mc-late" : worst === 1 ? "mc-warn" : "mc-ok";
    var words = n + " 件案件" + (worst ? "，含超期" : "") + "，点击放大";
    return L.divIcon({
      html: '<span class="sr-only">' + words + '</span><span aria-hidden="true">' + n + "</span>",
      className: "mc " + tone,
      iconSize: L.point(size, size)
    });
  };

  // A live change: markers to put (new or changed) and to take away (closed, merged, ...).
  OfficeMap.prototype.apply = function (change) {
    if (!this.legend) { return; }
    var self = this;
    (change.gone || []).forEach(function (id) { self.remove(id); });
    (change.put || []).forEach(function (p) {
      self.remove(p[0]);
      var m = self.marker(p[0], p[1], p[2], p[3]);
      self.markers[p[0]] = m;
      self.cluster.addLayer(m);
    });
    this.counted();
  };

  OfficeMap.prototype.remove = function (id) {
    var old = this.markers[id];
    if (old) {
      this.cluster.removeLayer(old);
      delete this.markers[id];
    }
  };

  OfficeMap.prototype.counted = function () {
    var n = Object.keys(this.markers).length;
    this.el.setAttribute("data-count", String(n));
    document.querySelectorAll("[data-map-count]").forEach(function (c) { c.textContent = String(n); });
  };

  // The stream's messages for the map arrive on a hidden element with sse-swap; they are read here, not swapped.
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("map-feed")) { return; }
    event.preventDefault();
    var message = event.detail;
    maps.forEach(function (m) {
      if (message.type === "reload") { m.load(); } else { m.apply(JSON.parse(message.data)); }
    });
  });

  // The live indicator; after a lost connection, everything is read again (messages may have been missed).
  var lost = false;
  function live(state, text) {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      el.setAttribute("data-live", state);
      el.querySelector(".live-text").textContent = text;
    });
  }
  document.addEventListener("htmx:sseOpen", function () {
    live("open", "实时更新中");
    if (lost) {
      lost = false;
      maps.forEach(function (m) { m.load(); });
      document.querySelectorAll("#queue, #wall-panels").forEach(function (el) { htmx.trigger(el, "sse:reload"); });
    }
  });
  document.addEventListener("htmx:sseError", function () {
    lost = true;
    live("error", "实时连接中断，正在重连…");
  });

  // Rows that arrived with a live refresh of the queue are marked for a moment.
  var before = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "queue") {
      before = {};
      event.detail.target.querySelectorAll(".qi[data-case]").forEach(function (li) { before[li.getAttribute("data-case")] = true; });
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!before) { return; }
    var seen = before;
    before = null;
    document.querySelectorAll("#queue .qi[data-case]").forEach(function (li) {
      if (!seen[li.getAttribute("data-case")]) { li.classList.add("is-new"); }
    });
  });

  // The wall's clock: the server's time when the page was made, running on.
  function clock(el) {
    var offset = Date.parse(el.getAttribute("data-now")) - Date.now();
    var format = new Intl.DateTimeFormat("zh-CN", {
      timeZone: el.getAttribute("data-zone"), hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
    });
    function tick() { el.textContent = format.format(new Date(Date.now() + offset)); }
    tick();
    window.setInterval(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (window.matchMedia && window.matchMedia("(min-width: 720px)").matches) {
      document.querySelectorAll("details[data-open-wide]").forEach(function (d) { d.open = true; });
    }
    if (window.L) {
      document.querySelectorAll(".office-map").forEach(function (el) { maps.push(new OfficeMap(el)); });
    }
    document.querySelectorAll("[data-clock]").forEach(clock);
  });
})();
