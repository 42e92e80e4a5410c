// 巡查 on a phone with a bad signal: a point's checklist is kept on the phone (localStorage) from the first tap until
// the server has answered, photos included (as data: URLs), and sent with the command id made when the form was
// opened, so a form sent again, after a lost answer or a reload, is recorded once. The server checks everything again.
(function () {
  "use strict";

  var PREFIX = "rectify.round/";
  var RETRY_MS = 10000;

  function read(key) {
    try { return JSON.parse(window.localStorage.getItem(PREFIX + key) || "null"); } catch (e) { return null; }
  }

  function write(key, state) {
    try { window.localStorage.setItem(PREFIX + key, JSON.stringify(state)); return true; } catch (e) { return false; }
  }

  function forget(key) { try { window.localStorage.removeItem(PREFIX + key); } catch (e) { /* nothing kept */ } }

  function csrf() {
    var input = document.querySelector("input[name=csrf_token]");
    if (input) { return input.value; }
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  function blob(dataUrl) {
    var parts = dataUrl.split(","), type = parts[0].replace(/^data:|;base64$/g, "");
    var bytes = window.atob(parts[1]), out = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) { out[i] = bytes.charCodeAt(i); }
    return new Blob([out], { type: type });
  }

  // A photo made small enough to keep on the phone: at most 1600 px on its long side, as JPEG.
  function shrink(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onerror = function () { reject(new Error("照片无法读取")); };
      reader.onload = function () {
        var img = new Image();
        img.onerror = function () { reject(new Error("不是可用的照片")); };
        img.onload = function () {
          var scale = Math.min(1, 1600 / Math.max(img.width, img.height));
          var canvas = document.createElement("canvas");
          canvas.width = Math.round(img.width * scale);
          canvas.height = Math.round(img.height * scale);
          canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
          resolve(canvas.toDataURL("image/jpeg", 0.82));
        };
        img.src = reader.result;
      };
      reader.readAsDataURL(file);
    });
  }

  // Send a kept form; resolves to the server's JSON answer, rejects when the network fails.
  function send(state) {
    var body = new FormData();
    body.append("csrf_token", csrf());
    body.append("command_id", state.command_id);
    Object.keys(state.fields).forEach(function (name) { body.append(name, state.fields[name]); });
    Object.keys(state.photos).forEach(function (name) {
      state.photos[name].forEach(function (url, i) { body.append(name, blob(url), name + "-" + (i + 1) + ".jpg"); });
    });
    return fetch(state.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "x-round-form": "1", "X-CSRF-Token": csrf() }
    }).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (type.indexOf("application/json") < 0) { return { signedOut: true }; }
      return r.json().then(function (answer) { answer.status = r.status; return answer; });
    });
  }

  function checklist(form) {
    var key = form.getAttribute("data-round-form");
    var alertBox = document.querySelector("[data-form-alert]");
    var saved = document.querySelector("[data-form-saved]");
    var button = form.querySelector("button[type=submit]");
    var idInput = form.querySelector("input[name=command_id]");
    var state = read(key);
    if (!state) {
      state = { action: form.getAttribute("action"), command_id: idInput.value, fields: {}, photos: {}, pending: false };
    }
    idInput.value = state.command_id;  // the first opening's id, whatever this page was given
    var retry = null;

    function say(box, text) { box.textContent = text || ""; box.hidden = !text; }

    function showErrors(errors) {
      form.querySelectorAll("[data-error-for]").forEach(function (p) {
        var name = p.getAttribute("data-error-for"), text = errors[name] || "";
        say(p, text);
        form.querySelectorAll("[name='" + name + "']").forEach(function (f) {
          if (text) { f.setAttribute("aria-invalid", "true"); } else { f.removeAttribute("aria-invalid"); }
        });
      });
      form.querySelectorAll("fieldset[data-item]").forEach(function (fs) {
        fs.classList.toggle("has-error", !!fs.querySelector("[data-error-for]:not([hidden])"));
      });
    }

    function preview(name) {
      var box = form.querySelector("[data-preview-for='" + name + "']");
      if (!box) { return; }
      box.textContent = "";
      (state.photos[name] || []).forEach(function (url, i) {
        var img = document.createElement("img");
        img.alt = "已拍照片 " + (i + 1);
        img.src = url;
        box.appendChild(img);
      });
    }

    function keep() {
      form.querySelectorAll("input[type=radio]:checked, textarea").forEach(function (f) { state.fields[f.name] = f.value; });
      if (!write(key, state)) { say(saved, "本机存储空间不足，照片未能保存在本机；请保持页面打开直到提交成功。"); }
    }

    // What the server would say first, said here too, so a form filled where there is no signal is complete.
    function problems() {
      var errors = {};
      form.querySelectorAll("fieldset[data-item]").forEach(function (fs) {
        var code = fs.getAttribute("data-item"), a = state.fields["answer-" + code];
        if (a !== "pass" && a !== "fail") { errors["answer-" + code] = "请选择「通过」或「未通过」"; return; }
        if (a === "fail" && !(state.photos["photo-" + code] || []).length) { errors["photo-" + code] = "未通过的检查项须拍摄现场照片"; }
        if (a === "fail" && !(state.fields["note-" + code] || "").trim()) { errors["note-" + code] = "未通过的检查项须填写问题说明"; }
      });
      return errors;
    }

    function attempt() {
      window.clearTimeout(retry);
      button.disabled = true;
      button.textContent = "正在提交…";
      send(state).then(function (answer) {
        button.disabled = false;
        button.textContent = "提交检查结果";
        if (answer.signedOut) {
          say(alertBox, "登录已过期。填写的内容已保存在本机，请重新登录后回到本页提交。");
          return;
        }
        if (answer.ok) { forget(key); window.location.href = answer.redirect; return; }
        state.pending = false;
        write(key, state);
        say(saved, "");
        showErrors(answer.errors || {});
        say(alertBox, (answer.alert || "提交未成功。") + (answer.rule ? "（规则：" + answer.rule + "）" : ""));
        var first = form.querySelector("[aria-invalid=true]");
        if (first) { first.focus(); }
      }, function () {
        button.disabled = false;
        button.textContent = "重新发送";
        say(saved, "信号不佳，暂未发送成功。检查结果已保存在本机，恢复网络后自动重新发送，不会重复记录。");
        retry = window.setTimeout(function () { if (state.pending) { attempt(); } }, RETRY_MS);
      });
    }

    // Restore what was kept: the answers, notes and photos, and a send still owed.
    Object.keys(state.fields).forEach(function (name) {
      form.querySelectorAll("[name='" + name + "']").forEach(function (f) {
        if (f.type === "radio") { f.checked = f.value === state.fields[name]; } else { f.value = state.fields[name]; }
      });
    });
    Object.keys(state.photos).forEach(preview);
    if (Object.keys(state.fields).length && !state.pending) { say(saved, "已恢复上次保存在本机、尚未提交的填写内容。"); }

    form.addEventListener("change", function (event) {
      var f = event.target;
      if (f.type === "file") {
        Promise.all(Array.prototype.map.call(f.files || [], shrink)).then(function (urls) {
          state.photos[f.name] = urls;
          f.value = "";  // the kept copies are what is sent
          preview(f.name);
          keep();
        }, function (error) {
          showErrors(Object.fromEntries([[f.name, error.message]]));
        });
        return;
      }
      keep();
    });
    form.addEventListener("input", function (event) { if (event.target.tagName === "TEXTAREA") { keep(); } });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      keep();
      var errors = problems();
      showErrors(errors);
      if (Object.keys(errors).length) {
        say(alertBox, "有 " + Object.keys(errors).length + " 处需要修改，见各检查项下的提示。");
        form.querySelector("[aria-invalid=true]").focus();
        return;
      }
      say(alertBox, "");
      state.pending = true;
      write(key, state);
      attempt();
    });
    window.addEventListener("online", function () { if (state.pending) { attempt(); } });
    if (state.pending) { attempt(); }
  }

  // On a round's page: the points whose results wait on this phone, marked, and sent when the network allows.
  function pendingOnRound() {
    var note = document.querySelector("[data-pending-note]");
    var waiting = 0;
    document.querySelectorAll("[data-pending]").forEach(function (badge) {
      var state = read(badge.getAttribute("data-pending"));
      if (state && state.pending) { badge.hidden = false; waiting++; }
    });
    if (note && waiting) {
      note.textContent = "有 " + waiting + " 个点位的检查结果保存在本机、尚未发送成功；打开该点位即可重新发送。";
      note.hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-round-form]");
    if (form) { checklist(form); }
    pendingOnRound();
  });
})();
