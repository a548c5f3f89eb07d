// Every input has a name a screen reader reads (axe: aria-input-field-name): the boxes select2
// draws for the admin's autocomplete fields are named after the field's label.
// jQuery runs its ready handlers (select2's start) asynchronously, possibly after the load event:
// name the boxes on load and once more right after.
function nameAutocompleteBoxes() {
  document.querySelectorAll('select.admin-autocomplete').forEach(function (select) {
    var label = document.querySelector('label[for="' + select.id + '"]');
    var inner = document.getElementById('select2-' + select.id + '-container');
    if (!label || !inner) { return; }
    var name = label.textContent.replace(/:\s*$/, '').trim();
    inner.setAttribute('aria-label', name);
    var box = inner.closest('.select2-selection');
    if (box) { box.setAttribute('aria-label', name); }
  });
}
window.addEventListener('load', function () {
  nameAutocompleteBoxes();
  window.setTimeout(nameAutocompleteBoxes, 0);
});
