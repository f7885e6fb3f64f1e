/* Uploads over the limit (UPLOAD_MAX_MB) on /admin/uploads: refused in the browser before anything is read or sent,
   with the server's own sentence (the page's hidden #admin-upload-limit carries the limit and the sentence).
   dcc.Upload's max_size is set too, but it drops an oversized file without a word, and it counts file by file;
   this counts the whole drop. A callback request the server still refuses as too large (413) shows its sentence
   in the same place instead of leaving the page silently unchanged. */
(function () {
  "use strict";
  var UPLOAD = "admin-upload", LIMIT = "admin-upload-limit", MESSAGE = "admin-upload-message";

  function show(sentence) {
    var clientside = window.dash_clientside;
    if (!sentence || !document.getElementById(MESSAGE) || !clientside || !clientside.set_props) {
      return;
    }
    clientside.set_props(MESSAGE, {children: {type: "Alert", namespace: "dash_bootstrap_components",
      props: {children: sentence, color: "danger", className: "mb-1 admin-too-large"}}});
  }

  function filesOf(event) {
    var list = event.type === "change" ? event.target.files : event.dataTransfer && event.dataTransfer.files;
    return list ? Array.prototype.slice.call(list) : [];
  }

  function refuseTooLarge(event) {
    var zone = document.getElementById(UPLOAD), limit = document.getElementById(LIMIT);
    if (!zone || !limit || !event.target || !zone.contains(event.target)) {
      return;
    }
    var most = Number(limit.getAttribute("data-max-bytes"));
    var total = filesOf(event).reduce(function (sum, file) { return sum + file.size; }, 0);
    if (!most || total <= most) {
      return;
    }
    event.stopPropagation();  // dcc.Upload never sees these files: nothing is read or sent
    event.preventDefault();
    if (event.type === "change") {
      event.target.value = "";
    }
    show(limit.getAttribute("data-sentence"));
  }

  window.addEventListener("drop", refuseTooLarge, true);
  window.addEventListener("change", refuseTooLarge, true);

  var originalFetch = window.fetch;
  window.fetch = function (input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    return originalFetch.apply(this, arguments).then(function (response) {
      if (response.status === 413 && url.indexOf("_dash-update-component") !== -1) {
        response.clone().json().then(function (body) { show(body.error || body.detail); }, function () {});
      }
      return response;
    });
  };
}());
