// Where the app is: which screen, and what the credentials pane shows.
// Pure functions; the store in session.svelte.ts holds the current value.

import type { VaultState } from './ipc';

export type Screen = 'credentials' | 'rotation' | 'sync' | 'audit' | 'settings';

/** What `#screen[data-screen]` says. */
export type ScreenId = 'loading' | 'first-run' | 'unlock' | Screen;

export type Pane =
  | { mode: 'none' }
  | { mode: 'view'; name: string }
  | { mode: 'add' }
  | { mode: 'edit'; name: string };

export type Route = {
  screen: Screen;
  /** The credentials screen's right-hand pane. */
  pane: Pane;
  /** The credential whose rotation wizard is open on the rotation screen. */
  wizard: string | null;
};

export const START: Route = { screen: 'credentials', pane: { mode: 'none' }, wizard: null };

export const NAV: { screen: Screen; label: string }[] = [
  { screen: 'credentials', label: 'Credentials' },
  { screen: 'rotation', label: 'Rotation' },
  { screen: 'sync', label: 'Sync' },
  { screen: 'audit', label: 'Audit' },
  { screen: 'settings', label: 'Settings' },
];

/** The screen to show for the vault's state: only an unlocked vault shows the route. */
export function screenFor(state: VaultState | null, route: Route): ScreenId {
  switch (state) {
    case null:
      return 'loading';
    case 'missing':
      return 'first-run';
    case 'locked':
      return 'unlock';
    case 'unlocked':
      return route.screen;
  }
}

export function navigate(route: Route, screen: Screen): Route {
  // Leaving the rotation screen closes the wizard; the run itself is kept by the core.
  return { ...route, screen, wizard: screen === 'rotation' ? route.wizard : null };
}

export function openCredential(route: Route, name: string): Route {
  return { ...route, screen: 'credentials', pane: { mode: 'view', name } };
}

export function addCredential(route: Route): Route {
  return { ...route, screen: 'credentials', pane: { mode: 'add' } };
}

export function editCredential(route: Route, name: string): Route {
  return { ...route, screen: 'credentials', pane: { mode: 'edit', name } };
}

export function closePane(route: Route): Route {
  return { ...route, pane: { mode: 'none' } };
}

export function openWizard(route: Route, name: string): Route {
  return { ...route, screen: 'rotation', wizard: name };
}

export function closeWizard(route: Route): Route {
  return { ...route, wizard: null };
}

/** After a rename or delete, the pane must not point at the old name. */
export function forget(route: Route, name: string, renamedTo: string | null = null): Route {
  const pane = route.pane;
  const wizard = route.wizard === name ? renamedTo : route.wizard;
  if ((pane.mode === 'view' || pane.mode === 'edit') && pane.name === name) {
    return { ...route, wizard, pane: renamedTo === null ? { mode: 'none' } : { mode: 'view', name: renamedTo } };
  }
  return { ...route, wizard };
}

/** The credential the pane shows or edits, if any. */
export function paneName(pane: Pane): string | null {
  return pane.mode === 'view' || pane.mode === 'edit' ? pane.name : null;
}
