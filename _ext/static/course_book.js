// The course's additions to the book's theme (added by _ext/course_book.py).
//
// Buttons whose accessible name differs from the words they show confuse
// speech input ("click Search Ctrl K" finds no button named "Search"): the
// search buttons and the "Show code cell source" toggles take their name from
// their visible text, and the icons of the colour-mode button lose the titles
// that are not part of its name.
function nameButtonsByTheirText() {
  document.querySelectorAll(".search-button-field[aria-label]").forEach((button) => {
    button.removeAttribute("aria-label");
  });
  document.querySelectorAll("details.hide > summary[aria-label]").forEach((summary) => {
    summary.removeAttribute("aria-label");
  });
  document.querySelectorAll(".theme-switch-button i[title]").forEach((icon) => {
    icon.removeAttribute("title");
  });
}

// Again once everything has loaded: the theme's own scripts may run in between.
document.addEventListener("DOMContentLoaded", nameButtonsByTheirText);
window.addEventListener("load", nameButtonsByTheirText);
