// The public map of reports: the city's own outline and streets (no tiles), a dot per report, a click opens it.
// No inline scripts (the Content-Security-Policy forbids them): the page names its data in data-points.
(function () {
  "use strict";
  var COLOURS = { open: "#17549a", closed: "#1d6b3a", late: "#c0271f" };

  function json(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }

  function draw(el) {
    if (!window.L) { return; }
    var map = L.map(el, { scrollWheelZoom: false });
    map.attributionControl.setPrefix("Leaflet");
    Promise.all([json("/city/district.geojson"), json("/city/territories.geojson"), json(el.dataset.points)]).then(function (all) {
      var outline = L.geoJSON(all[0], { style: { color: "#0f3a6b", weight: 2, fill: false } });
      map.fitBounds(outline.getBounds(), { padding: [8, 8] });  // a view first: Leaflet draws nothing without one
      outline.addTo(map);
      L.geoJSON(all[1], {
        style: { color: "#5d7896", weight: 1, fillColor: "#f4f6f8", fillOpacity: 0.9 },
        onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, { direction: "center", className: "map-label" }); }
      }).addTo(map);
      all[2].points.forEach(function (p) {
        var colour = p[4] ? COLOURS.late : (p[3] ? COLOURS.closed : COLOURS.open);
        L.circleMarker([p[1], p[2]], { radius: 6, color: "#fff", weight: 1.5, fillColor: colour, fillOpacity: 0.95 })
          .on("click", function () { window.location.href = "/public/reports/" + encodeURIComponent(p[0]); })
          .addTo(map);
      });
    }).catch(function (error) { el.textContent = "地图数据加载失败：" + error.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("public-map");
    if (el) { draw(el); }
  });
})();
