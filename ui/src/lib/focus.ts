// Where focus goes when what held it is gone: the screen's heading, never
// <body> (a keyboard or screen-reader user would be left nowhere).

/** Focuses the current screen's (or `within`'s) first heading, made focusable for it. */
export function focusHeading(within: ParentNode = document): boolean {
  const heading = within.querySelector<HTMLElement>('#screen h1, #screen h2');
  if (heading === null) return false;
  if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
  heading.focus();
  return document.activeElement === heading;
}

/** Waits between tries for a heading that is not on the page yet. */
const HEADING_WAIT_MS = 10;
const HEADING_TRIES = 50;

/**
 * focusHeading for a screen just switched to: a screen whose code loads
 * when first shown (components/Lazy.svelte) has its heading a moment later,
 * so this tries again for up to half a second.
 */
export async function focusNewHeading(): Promise<boolean> {
  for (let tries = 0; tries < HEADING_TRIES; tries += 1) {
    if (focusHeading()) return true;
    await new Promise((resolve) => setTimeout(resolve, HEADING_WAIT_MS));
  }
  return false;
}

/** Focuses the element `id`, made focusable if it is not a control. */
export function focusId(id: string): boolean {
  const el = document.getElementById(id);
  if (el === null) return false;
  if (el.tabIndex < 0 && !el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus();
  return document.activeElement === el;
}

/**
 * When the focused element leaves the page (a saved form, a deleted row, a
 * finished step), focus goes to the screen's heading instead of <body>.
 * Components that know a better place focus it themselves first.
 */
export function keepFocusOnThePage(): () => void {
  const onfocusout = (event: FocusEvent): void => {
    const left = event.target;
    if (!(left instanceof HTMLElement)) return;
    // After the DOM update that removed it, and after any component's own move.
    setTimeout(() => {
      if (left.isConnected) return;
      if (document.activeElement !== null && document.activeElement !== document.body) return;
      focusHeading();
    }, 0);
  };
  document.addEventListener('focusout', onfocusout);
  return () => document.removeEventListener('focusout', onfocusout);
}
