// The same stamps bench/app.py reads from Coffer's list: `data-shown-at` on
// #credential-list when the page is ready to paint, and again after each
// input event, here after the most trivial DOM change (one text node).
const list = document.getElementById('credential-list');
const count = document.getElementById('result-count');
const box = document.getElementById('search');
const stamp = () => list.setAttribute('data-shown-at', String(performance.now()));
box.addEventListener('input', () => {
  count.textContent = String(box.value.length);
  stamp();
});
requestAnimationFrame(stamp);
