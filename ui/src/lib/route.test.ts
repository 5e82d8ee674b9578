import { describe, expect, it } from 'vitest';
import {
  addCredential,
  closePane,
  editCredential,
  forget,
  navigate,
  openCredential,
  openWizard,
  paneName,
  screenFor,
  START,
} from './route';

describe('screenFor', () => {
  it('shows first run, unlock or the route by vault state', () => {
    expect(screenFor(null, START)).toBe('loading');
    expect(screenFor('missing', START)).toBe('first-run');
    expect(screenFor('locked', { ...START, screen: 'audit' })).toBe('unlock');
    expect(screenFor('unlocked', { ...START, screen: 'audit' })).toBe('audit');
  });
});

describe('transitions', () => {
  it('opens, edits and closes credentials on the credentials screen', () => {
    const onSync = navigate(START, 'sync');
    const open = openCredential(onSync, 'api/github');
    expect(open.screen).toBe('credentials');
    expect(paneName(open.pane)).toBe('api/github');
    expect(editCredential(open, 'api/github').pane).toEqual({ mode: 'edit', name: 'api/github' });
    expect(addCredential(open).pane).toEqual({ mode: 'add' });
    expect(closePane(open).pane).toEqual({ mode: 'none' });
    expect(paneName(addCredential(open).pane)).toBeNull();
  });

  it('opens the wizard on the rotation screen and drops it when leaving', () => {
    const wizard = openWizard(START, 'db');
    expect(wizard).toMatchObject({ screen: 'rotation', wizard: 'db' });
    expect(navigate(wizard, 'rotation').wizard).toBe('db');
    expect(navigate(wizard, 'audit').wizard).toBeNull();
  });

  it('forgets a deleted credential and follows a rename', () => {
    const open = openCredential(START, 'old');
    expect(forget(open, 'old').pane).toEqual({ mode: 'none' });
    expect(forget(open, 'old', 'new').pane).toEqual({ mode: 'view', name: 'new' });
    expect(forget(open, 'other')).toEqual(open);
  });
});
