// Every field's error message is tied to its control (aria-describedby), so
// a screen reader says why the input is invalid when it lands on it. One
// observer over the page does it for every form, rather than a hand-written
// link in each of some 35 places, any of which could be forgotten: a
// `.field-error` is linked to the first input, select or textarea of its
// `.field` (else its parent), and unlinked when it goes.

const LINKED = 'data-error-link';
let counter = 0;

function tokens(control: Element): string[] {
  return (control.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((t) => t !== '');
}

function setTokens(control: Element, list: string[]): void {
  if (list.length === 0) control.removeAttribute('aria-describedby');
  else control.setAttribute('aria-describedby', list.join(' '));
}

/** Links the error messages under `root` to their controls, now and as they come and go. */
export function linkFieldErrors(root: HTMLElement): () => void {
  const sync = (): void => {
    for (const control of root.querySelectorAll(`[${LINKED}]`)) {
      const id = control.getAttribute(LINKED) ?? '';
      const error = id === '' ? null : document.getElementById(id);
      if (error === null || !root.contains(error)) {
        setTokens(
          control,
          tokens(control).filter((t) => t !== id),
        );
        control.removeAttribute(LINKED);
      }
    }
    for (const error of root.querySelectorAll<HTMLElement>('.field-error')) {
      const scope = error.closest('.field') ?? error.parentElement;
      const control = scope?.querySelector('input:not([type="checkbox"]), select, textarea');
      if (control === null || control === undefined) continue;
      if (error.id === '') {
        counter += 1;
        error.id = `field-error-${counter}`;
      }
      const list = tokens(control);
      if (!list.includes(error.id)) setTokens(control, [...list, error.id]);
      control.setAttribute(LINKED, error.id);
    }
  };
  const observer = new MutationObserver(sync);
  observer.observe(root, { childList: true, subtree: true });
  sync();
  return () => observer.disconnect();
}
