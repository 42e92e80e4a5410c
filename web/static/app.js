// Rectify staff pages: small progressive enhancements. Everything works without this file but the maps.
// No inline scripts anywhere (the Content-Security-Policy forbids them); pages pass data in data-* attributes.
(function () {
  "use strict";

  var TONES = { info: "#17549a", work: "#c27803", check: "#5b34a8", done: "#1d6b3a", alert: "#c0271f", muted: "#5f6b7a" };
  var layerCache = {};

  function layer(name) {
    if (!layerCache[name]) {
      layerCache[name] = fetch("/city/" + name + ".geojson", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) { throw new Error("map layer " + name + ": HTTP " + r.status); }
        return r.json();
      });
    }
    return layerCache[name];
  }

  // Shared with the pages' own scripts (points.js): one loader, one cache of the city's layers.
  window.RectifyMap = { layer: layer };

  // A small map of the case's place, drawn from the city's own GeoJSON: no tiles from anywhere.
  function caseMap(el) {
    if (!window.L || el.dataset.ready) { return; }
    el.dataset.ready = "1";
    var lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
    var territory = el.dataset.territory;
    var map = L.map(el, { zoomControl: true, attributionControl: true, scrollWheelZoom: false });
    map.attributionControl.setPrefix("Leaflet");
    map.setView([lat, lon], 14);
    Promise.all([layer("district"), layer("territories"), layer("grids"), layer("roads")]).then(function (ls) {
      L.geoJSON(ls[0], { style: { color: "#0f3a6b", weight: 2, fill: false } }).addTo(map);
      var focus = null;
      L.geoJSON(ls[1], {
        style: function (f) {
          var mine = f.properties.unit_id === territory;
          return { color: "#5d7896", weight: mine ? 2 : 1, fillColor: mine ? "#d9e7f5" : "#f4f6f8", fillOpacity: 0.9 };
        },
        onEachFeature: function (f, l) {
          if (f.properties.unit_id === territory) {
            focus = l;
            l.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "map-label" });
          }
        }
      }).addTo(map);
      L.geoJSON(ls[2], { style: { color: "#8fa3b8", weight: 0.6, dashArray: "3 3", fill: false } }).addTo(map);
      L.geoJSON(ls[3], { style: { color: "#b08d57", weight: 3, opacity: 0.8 } }).addTo(map);
      var colour = TONES[el.dataset.tone] || TONES.info;
      L.circleMarker([lat, lon], { radius: 9, color: "#fff", weight: 3, fillColor: colour, fillOpacity: 1 }).addTo(map);
      if (focus) { map.fitBounds(focus.getBounds(), { padding: [16, 16], maxZoom: 16 }); }
    }).catch(function (error) {
      el.textContent = "地图数据加载失败：" + error.message;
    });
  }

  function enhance(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(".case-map").forEach(caseMap);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
})();
