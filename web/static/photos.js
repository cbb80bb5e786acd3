// A preview of the photos chosen, before they are sent (the form works without this). Shown
// as data: URLs, which the Content-Security-Policy allows for images; a HEIC the browser cannot
// show is listed by name.
"use strict";
(function () {
  function show(list, input) {
    for (const file of Array.from(input.files || []).slice(0, 3)) {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = file.name;
      item.appendChild(name);
      if (/^image\/(jpeg|png|webp)$/.test(file.type)) {
        const img = document.createElement("img");
        img.alt = "";
        img.className = "photo-preview-image";
        const reader = new FileReader();
        reader.onload = function () { img.src = String(reader.result); };
        reader.readAsDataURL(file);
        item.insertBefore(img, name);
      }
      list.appendChild(item);
    }
  }
  function refresh(form) {
    const inputs = form.querySelectorAll("input[data-photo-preview]");
    if (!inputs.length) return;
    const list = document.getElementById(inputs[0].dataset.photoPreview);
    if (!list) return;
    list.textContent = "";
    inputs.forEach(function (input) { show(list, input); });
  }
  document.querySelectorAll("form.photo-form").forEach(function (form) {
    form.addEventListener("change", function () { refresh(form); });
  });
})();
