// The colour theme: the system's (the default), or light or dark whatever
// the system says. Kept in the web view's storage, not the vault, so the
// unlock screen and the approval window already wear it. The page always
// carries data-theme="light|dark"; the stylesheet has one set of dark
// colours, under that attribute.

export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'coffer.theme';
const CHOICES: ThemeChoice[] = ['system', 'light', 'dark'];

class Theme {
  choice = $state<ThemeChoice>('system');
  private query: MediaQueryList | null = null;

  /** Reads the stored choice and follows the system while it is "system". */
  start(): void {
    const saved = globalThis.localStorage?.getItem(KEY) ?? 'system';
    this.choice = CHOICES.find((c) => c === saved) ?? 'system';
    this.query = globalThis.matchMedia?.('(prefers-color-scheme: dark)') ?? null;
    this.query?.addEventListener('change', () => this.apply());
    this.apply();
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    globalThis.localStorage?.setItem(KEY, choice);
    this.apply();
  }

  /** What the page shows now. */
  get shown(): 'light' | 'dark' {
    if (this.choice !== 'system') return this.choice;
    return this.query?.matches === true ? 'dark' : 'light';
  }

  private apply(): void {
    const root = document.documentElement;
    root.dataset['theme'] = this.shown;
    root.style.colorScheme = this.shown;
  }
}

export const theme = new Theme();
