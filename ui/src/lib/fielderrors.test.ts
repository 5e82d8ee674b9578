// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { linkFieldErrors } from './fielderrors';

const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  document.body.innerHTML = '';
});

describe('linkFieldErrors', () => {
  it('ties each error to its control as it appears, and unties it when it goes', async () => {
    document.body.innerHTML = `
      <form>
        <div class="field"><label for="a">A</label><input id="a" aria-describedby="a-hint" /><p id="a-hint">hint</p></div>
        <div class="field"><label for="b">B</label><select id="b"></select></div>
      </form>`;
    const stop = linkFieldErrors(document.body);
    const error = document.createElement('p');
    error.className = 'field-error';
    error.textContent = 'A is not a number';
    document.querySelector('.field')?.append(error);
    await flush();
    const a = document.getElementById('a');
    expect(error.id).not.toBe('');
    expect(a?.getAttribute('aria-describedby')).toBe(`a-hint ${error.id}`);
    error.remove();
    await flush();
    expect(a?.getAttribute('aria-describedby')).toBe('a-hint');
    // An error with an id of its own keeps it.
    const named = document.createElement('p');
    named.className = 'field-error';
    named.id = 'error-b';
    document.querySelectorAll('.field')[1]?.append(named);
    await flush();
    expect(document.getElementById('b')?.getAttribute('aria-describedby')).toBe('error-b');
    stop();
  });
});
