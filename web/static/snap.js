// 随手拍: the place is picked on the city's map (no tiles: its outline and streets) or taken from the phone's
// location. Refused or unavailable, the page says so and the map stays the way. No inline scripts (CSP).
(function () {
  "use strict";

  function json(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": HTTP " + r.status); }
      return r.json();
    });
  }

  function setup(el) {
    var lat = document.getElementById("lat"), lon = document.getElementById("lon");
    var text = document.getElementById("place-text"), locate = document.getElementById("locate");
    var marker = null, map = null;

    function put(la, lo, how) {
      lat.value = la.toFixed(6);
      lon.value = lo.toFixed(6);
      text.textContent = how + "：北纬 " + lat.value + "，东经 " + lon.value;
      if (!map) { return; }
      if (marker) { marker.setLatLng([la, lo]); } else {
        marker = L.circleMarker([la, lo], { radius: 9, color: "#fff", weight: 2, fillColor: "#c0271f", fillOpacity: 1 }).addTo(map);
      }
      map.panTo([la, lo]);
    }

    if (window.L) {
      map = L.map(el, { scrollWheelZoom: false, tap: true });
      map.attributionControl.setPrefix("Leaflet");
      Promise.all([json("/city/district.geojson"), json("/city/territories.geojson")]).then(function (all) {
        var outline = L.geoJSON(all[0], { style: { color: "#0f3a6b", weight: 2, fill: false } });
        map.fitBounds(outline.getBounds(), { padding: [6, 6] });
        outline.addTo(map);
        L.geoJSON(all[1], {
          style: { color: "#5d7896", weight: 1, fillColor: "#f4f6f8", fillOpacity: 0.9 },
          onEachFeature: function (f, l) {
            l.bindTooltip(f.properties.name, { direction: "center", className: "map-label" });
            l.on("click", function (ev) { put(ev.latlng.lat, ev.latlng.lng, "已选位置"); });
          }
        }).addTo(map);
        if (lat.value && lon.value) { put(parseFloat(lat.value), parseFloat(lon.value), "已选位置"); }
      }).catch(function (error) { text.textContent = "地图加载失败（" + error.message + "），请使用定位"; });
      map.on("click", function (ev) { put(ev.latlng.lat, ev.latlng.lng, "已选位置"); });
    }

    locate.addEventListener("click", function () {
      if (!navigator.geolocation) {
        text.textContent = "此浏览器无法定位，请在地图上点选问题位置";
        return;
      }
      text.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        put(pos.coords.latitude, pos.coords.longitude, "已定位到您的位置");
      }, function (error) {
        text.textContent = (error.code === 1 ? "未获得定位权限" : "暂时无法定位") + "，请在地图上点选问题位置";
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("snap-map");
    if (el) { setup(el); }
  });
})();
