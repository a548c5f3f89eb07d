// A store's change page: its details section (<details data-src>) is fetched when first opened
// and the details page's #store-details-panels shown in place. If the fetch fails the section
// keeps its link to the details page.
function loadDetails(box) {
  if (!box.open || box.dataset.loaded) { return; }
  box.dataset.loaded = 'loading';
  var body = box.querySelector('.store-details-body');
  fetch(box.dataset.src, {credentials: 'same-origin'})
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    })
    .then(function (html) {
      var page = new DOMParser().parseFromString(html, 'text/html');
      var panels = page.getElementById('store-details-panels');
      if (!panels) { throw new Error('no panels'); }
      body.replaceChildren(document.importNode(panels, true));
      box.dataset.loaded = 'done';
    })
    .catch(function () { delete box.dataset.loaded; });
}
window.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('details[data-src]').forEach(function (box) {
    box.addEventListener('toggle', function () { loadDetails(box); });
    loadDetails(box);
  });
});
