// The admin's model sidebar starts closed, so that lists get the whole 1440 px width; the toggle
// (the « button) opens it and Django remembers the choice (django.admin.navSidebarIsOpen).
if (window.localStorage && localStorage.getItem('django.admin.navSidebarIsOpen') === null) {
  localStorage.setItem('django.admin.navSidebarIsOpen', 'false');
}
