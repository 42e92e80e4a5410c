// 攻坚作战图 and a round's map: the inspection points drawn on the city's own layers (no tiles), coloured by the
// readiness the server computed (达标 green, 待检查 amber, 未达标 red). The battle map re-reads its points every
// data-poll seconds; the page's figures refresh themselves through htmx. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  var COLOURS = { ready: "#1d7a3e", stale: "#c98a00", not_ready: "#c0271f", done: "#5f6b7a" };

  // The district, its streets and towns and its roads, from app.js's loader (one cache for every map on the page).
  function baseMap(el, options) {
    var map = L.map(el, options || { zoomSnap: 0.1, minZoom: 9, maxZoom: 18, scrollWheelZoom: false });
    map.attributionControl.setPrefix("Leaflet");
    var layer = window.RectifyMap.layer;
    return Promise.all([layer("district"), layer("territories"), layer("roads")]).then(function (ls) {
      var district = L.geoJSON(ls[0], { style: { color: "#0f3a6b", weight: 2.5, fill: false }, interactive: false });
      L.geoJSON(ls[1], {
        interactive: false,
        style: { color: "#7b93ad", weight: 1, fillColor: "#eef3f8", fillOpacity: 1 }
      }).addTo(map);
      L.geoJSON(ls[2], { interactive: false, style: { color: "#c8a46e", weight: 2.5, opacity: 0.8 } }).addTo(map);
      district.addTo(map);
      map.fitBounds(district.getBounds(), { padding: [8, 8] });
      return map;
    }).catch(function (error) {
      var text = error && error.message ? error.message : String(error);
      el.setAttribute("data-error", text);
      el.textContent = "地图数据加载失败：" + text;
      throw error;
    });
  }

  function pointMarker(p, href) {
    var colour = COLOURS[p.level] || COLOURS.stale;
    var marker = L.circleMarker([p.lat, p.lon], {
      radius: 8, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 1, className: "pt pt-" + p.level
    });
    marker.bindTooltip(p.name + (p.label ? " · " + p.label : "") + (p.reasons ? "（" + p.reasons + "）" : ""));
    if (href) { marker.on("click", function () { window.location.href = href; }); }
    marker.on("add", function () {
      var path = marker.getElement();
      if (path) { path.setAttribute("data-point", p.id); path.setAttribute("data-level", p.level); }
    });
    return marker;
  }

  function battleMap(el) {
    var group = L.layerGroup();
    var fitted = false;
    function load(map) {
      return fetch(el.getAttribute("data-src"), { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      }).then(function (data) {
        group.clearLayers();
        var bounds = [];
        data.points.forEach(function (p) {
          if (p.outline && p.outline.length > 2) {
            L.polygon(p.outline, {
              color: COLOURS[p.level], weight: 1.5, fillOpacity: 0.25, interactive: false
            }).addTo(group);
          }
          pointMarker(p, "/points/" + encodeURIComponent(p.id)).addTo(group);
          bounds.push([p.lat, p.lon]);
        });
        if (!fitted && bounds.length) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 }); fitted = true; }
        el.setAttribute("data-loaded", String(Date.now()));
        el.setAttribute("data-count", String(data.points.length));
      });
    }
    baseMap(el).then(function (map) {
      group.addTo(map);
      var poll = (parseInt(el.getAttribute("data-poll"), 10) || 15) * 1000;
      load(map).catch(function (e) { el.setAttribute("data-error", String(e)); });
      window.setInterval(function () {
        if (!document.hidden) { load(map).catch(function (e) { el.setAttribute("data-error", String(e)); }); }
      }, poll);
    }).catch(function () {});
  }

  // A round's points, numbered as listed, from the list's own data-* attributes.
  function roundMap(el) {
    var items = document.querySelectorAll(".round-point[data-lat]");
    baseMap(el, { zoomSnap: 0.1, minZoom: 9, maxZoom: 18, scrollWheelZoom: false, dragging: !L.Browser.mobile }).then(function (map) {
      var bounds = [];
      items.forEach(function (li) {
        var p = {
          id: li.dataset.point, name: li.dataset.name, level: li.dataset.level,
          lat: parseFloat(li.dataset.lat), lon: parseFloat(li.dataset.lon)
        };
        pointMarker(p, "#pt-" + p.id).addTo(map);
        bounds.push([p.lat, p.lon]);
      });
      if (bounds.length) { map.fitBounds(bounds, { padding: [28, 28], maxZoom: 15 }); }
      el.setAttribute("data-loaded", String(Date.now()));
    }).catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.L || !window.RectifyMap) { return; }
    var board = document.getElementById("points-map");
    if (board) { battleMap(board); }
    var round = document.getElementById("round-map");
    if (round) { roundMap(round); }
  });
})();
