// The app's state: the vault status, where the person is, settings read at
// unlock, the list's filters, and a revision counter that views watch to
// reload after a write. No secret value is ever stored here.

import {
  describeError,
  kindSchemas,
  settingsGet,
  vaultLock,
  vaultStatus,
  whenLocked,
  type Facets,
  type KindSchema,
  type Settings,
  type VaultStatus,
} from './ipc';
import { EMPTY_FILTERS, type ListFilters } from './filters';
import { confirmation } from './confirm.svelte';
import { notices } from './notices.svelte';
import * as routes from './route';
import type { Route, Screen, ScreenId } from './route';

export const DEFAULT_REVEAL_SECONDS = 20;

class Session {
  status = $state<VaultStatus | null>(null);
  /** Why the first status read failed, if it did. */
  startError = $state<string | null>(null);
  route = $state<Route>(routes.START);
  settings = $state<Settings | null>(null);
  /** Failed unlock attempts reported at the last unlock, until dismissed. */
  failed = $state<{ count: number; since: string | null } | null>(null);
  /** Shown on the unlock screen: why the vault locked ("after 10 minutes without activity"). */
  lockNote = $state<string | null>(null);
  filters = $state<ListFilters>({ ...EMPTY_FILTERS });
  /** The latest facets of the list (for the nav's attention count). */
  facets = $state<Facets | null>(null);
  /** Bumped after every write, so lists and panes reload. */
  revision = $state(0);
  /** Bumped each time a credential is opened, so opening the one already
   * shown loads it again (another process may have changed it since). */
  opened = $state(0);
  /** The keyring is tried automatically once per app start, not after every lock. */
  keyringTried = false;
  private kinds: Promise<KindSchema[]> | null = null;

  screen: ScreenId = $derived(routes.screenFor(this.status?.state ?? null, this.route));
  unlocked: boolean = $derived(this.status?.state === 'unlocked');
  revealSeconds: number = $derived(this.settings?.revealSeconds ?? DEFAULT_REVEAL_SECONDS);
  autoLockMinutes: number = $derived(this.settings?.autoLockMinutes ?? this.status?.autoLockMinutes ?? 10);

  constructor() {
    // Every command that rejects with `locked` lands here, before its caller
    // places the error. The session lives as long as the app, so the hook
    // is never released.
    whenLocked(() => this.lockedUnderneath());
  }

  async start(): Promise<void> {
    this.startError = null;
    try {
      this.setStatus(await vaultStatus());
    } catch (error) {
      this.startError = describeError(error);
    }
  }

  setStatus(status: VaultStatus): void {
    const was = this.status?.state ?? null;
    this.status = status;
    // Locked earlier in the app's run (this page may be the main window
    // built again after it): the keyring does not undo that by itself.
    if (status.lockedBefore) this.keyringTried = true;
    if (status.state === 'unlocked' && was !== 'unlocked') {
      // Once the vault has been open, a later lock (by hand or idle) must not
      // be undone by an automatic keyring unlock.
      this.keyringTried = true;
      this.lockNote = null;
      this.failed = status.failedAttempts > 0 ? { count: status.failedAttempts, since: status.failedSince } : null;
      void this.loadSettings();
    }
    if (status.state !== 'unlocked') {
      this.failed = null;
      this.facets = null;
      if (was === 'unlocked') this.forgetTheMoment();
    }
  }

  async loadSettings(): Promise<void> {
    try {
      this.settings = await settingsGet();
    } catch {
      // The defaults serve until settings can be read (a locked vault has
      // already sent the app to the unlock screen, through `whenLocked`).
    }
  }

  /** Kinds and their templates, read once. */
  loadKinds(): Promise<KindSchema[]> {
    if (this.kinds === null) {
      this.kinds = kindSchemas().catch((error: unknown) => {
        this.kinds = null;
        throw error;
      });
    }
    return this.kinds;
  }

  /**
   * A command rejected with `locked`: the shell locked the vault (its idle
   * backstop) without the app hearing of it, so the app shows the unlock
   * screen. The caller still places the error as it would any other.
   */
  private lockedUnderneath(): void {
    if (this.status === null || this.status.state !== 'unlocked') return;
    this.status = { ...this.status, state: 'locked' };
    this.lockNote = 'The vault was locked; unlock it to continue.';
    this.facets = null;
    this.forgetTheMoment();
  }

  /** The shell locked the vault by itself (its idle backstop): show the unlock screen. */
  lockedByShell(reason: string): void {
    if (this.status === null || this.status.state !== 'unlocked') return;
    this.status = { ...this.status, state: 'locked' };
    this.facets = null;
    this.forgetTheMoment();
    this.lockNote =
      reason === 'idle'
        ? 'Locked after a period without activity.'
        : reason === 'suspend'
          ? 'Locked before the computer went to sleep.'
          : reason === 'screen lock'
            ? 'Locked when the screen locked.'
            : reason === 'tray'
              ? 'Locked from the tray.'
              : 'The vault was locked.';
    // The shell may now ask for the passphrase: refresh what it says.
    void vaultStatus()
      .then((next) => {
        if (this.status !== null && next.state !== 'unlocked') this.status = next;
      })
      .catch(() => {});
  }

  /** Lock now. `note` says why on the unlock screen; `automatic` for the idle timer. */
  async lock(note: string | null = null, automatic = false): Promise<void> {
    try {
      this.setStatus(await vaultLock(automatic));
    } catch (error) {
      // Show the unlock screen whatever happened; say what went wrong.
      if (this.status !== null) this.status = { ...this.status, state: 'locked' };
      notices.error(error);
    }
    this.lockNote = note;
  }

  /** Something was written: views reload. */
  changed(): void {
    this.revision += 1;
  }

  dismissFailed(): void {
    this.failed = null;
  }

  navigate(screen: Screen): void {
    this.route = routes.navigate(this.route, screen);
  }

  /** The vault locked: what was said and asked while it was open goes (a question answers no). */
  private forgetTheMoment(): void {
    notices.dismiss();
    confirmation.answer(false);
  }

  /**
   * Asked before the person leaves a screen with unsaved work on it (set by
   * the form while it has changes); resolves true to leave.
   */
  leaveGuard: (() => Promise<boolean>) | null = null;

  /** `ask` guards leaving until released (by the same function). */
  guardLeaving(ask: () => Promise<boolean>): void {
    this.leaveGuard = ask;
  }

  releaseLeaving(ask: () => Promise<boolean>): void {
    if (this.leaveGuard === ask) this.leaveGuard = null;
  }

  /** Settings as the shell last returned them (after a read or a change). */
  setSettings(settings: Settings): void {
    this.settings = settings;
  }

  /** The list's facets from its latest page. */
  setFacets(facets: Facets | null): void {
    this.facets = facets;
  }

  /** The start's keyring attempt was made (or is not wanted again). */
  keyringAttempted(): void {
    this.keyringTried = true;
  }

  /** The credentials list, filtered to one rotation state. */
  showRotationState(rotation: ListFilters['rotation']): void {
    this.filters.rotation = rotation;
    this.navigate('credentials');
  }

  /**
   * The person goes to another screen (the nav, Alt+1…5): unsaved work is
   * asked about first; what was said on this screen goes. Resolves whether
   * it went.
   */
  async go(screen: Screen): Promise<boolean> {
    if (screen === this.route.screen) return false;
    const guard = this.leaveGuard;
    if (guard !== null && !(await guard())) return false;
    notices.dismiss();
    this.navigate(screen);
    return true;
  }

  openCredential(name: string): void {
    this.route = routes.openCredential(this.route, name);
    this.opened += 1;
  }

  addCredential(): void {
    this.route = routes.addCredential(this.route);
  }

  editCredential(name: string): void {
    this.route = routes.editCredential(this.route, name);
  }

  closePane(): void {
    this.route = routes.closePane(this.route);
  }

  openWizard(name: string): void {
    this.route = routes.openWizard(this.route, name);
  }

  closeWizard(): void {
    this.route = routes.closeWizard(this.route);
  }

  forget(name: string, renamedTo: string | null = null): void {
    this.route = routes.forget(this.route, name, renamedTo);
  }

  /** Back to a fresh start (tests). */
  reset(): void {
    this.status = null;
    this.startError = null;
    this.route = routes.START;
    this.settings = null;
    this.failed = null;
    this.lockNote = null;
    this.filters = { ...EMPTY_FILTERS };
    this.facets = null;
    this.revision = 0;
    this.keyringTried = false;
    this.kinds = null;
  }
}

export const session = new Session();
