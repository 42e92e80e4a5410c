// The action forms: a form is sent once (the button waits), and a photo is shown and checked before it is sent.
// The server checks everything again; without this file the forms work the same, only less kindly.
(function () {
  "use strict";

  function once(form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
        button.dataset.label = button.textContent;
        button.textContent = "正在提交…";
      });
    });
  }

  // Coming back with the browser's Back button shows the page as it was left: buttons waiting for nothing.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once] button[disabled]").forEach(function (button) {
      button.disabled = false;
      if (button.dataset.label) { button.textContent = button.dataset.label; }
    });
  });

  function photos(input) {
    var max = parseInt(input.dataset.maxBytes, 10) || 0;
    var preview = document.getElementById(input.dataset.preview);
    var count = document.getElementById(input.dataset.count);
    input.addEventListener("change", function () {
      if (!preview) { return; }
      preview.textContent = "";
      var n = (input.files || []).length;
      if (count) { count.textContent = n ? "已选择 " + n + " 张照片" : "未选择照片"; }
      var tooLarge = [];
      Array.prototype.forEach.call(input.files || [], function (file, i) {
        if (max && file.size > max) {
          tooLarge.push("第 " + (i + 1) + " 张照片超过 " + Math.floor(max / 1048576) + " MB，请压缩或重新拍摄");
          return;
        }
        if (!/^image\//.test(file.type)) { return; }
        var img = document.createElement("img");
        img.alt = "已选照片 " + (i + 1);
        preview.appendChild(img);
        var reader = new FileReader();  // a data: URL: the page's policy allows no blob: images
        reader.onload = function () { img.src = reader.result; };
        reader.readAsDataURL(file);
      });
      if (tooLarge.length) {
        input.value = "";
        preview.textContent = "";
        if (count) { count.textContent = "未选择照片"; }
        var p = document.createElement("p");
        p.className = "field-error";
        p.textContent = tooLarge.join("；");
        preview.appendChild(p);
      }
    });
  }

  // A form that came back with problems, or one named in the address (#act-…), is opened and brought into view.
  function attend() {
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.classList.contains("action")) {
      var details = target.querySelector("details");
      if (details) { details.open = true; }
    }
    var problem = document.querySelector(".action [aria-invalid=true], .action .alert-error");
    if (problem) {
      problem.scrollIntoView({ block: "center" });
      if (problem.matches("input, textarea, select")) { problem.focus({ preventScroll: true }); }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-once]").forEach(once);
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(photos);
    attend();
  });
})();
