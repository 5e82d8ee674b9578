// The passphrase strength meter: what it shows for a Strength, and a checker
// that asks the core at most once per pause in typing and ignores old answers.

import type { Strength } from './ipc';
import { debounce, Latest } from './timing';

/** The core refuses recovery passphrases scoring below this. */
export const MIN_SCORE = 2;

export type StrengthTone = 'none' | 'weak' | 'fair' | 'strong';

export type StrengthView = {
  /** Filled part of the meter, 0–100. */
  percent: number;
  tone: StrengthTone;
  /** "Strength: fair. Guessing it would take 3 hours." */
  text: string;
  warning: string | null;
  suggestions: string[];
  acceptable: boolean;
};

export function strengthView(strength: Strength | null): StrengthView {
  if (strength === null) {
    return { percent: 0, tone: 'none', text: 'Strength: not rated yet.', warning: null, suggestions: [], acceptable: false };
  }
  const score = Math.min(4, Math.max(0, strength.score));
  const tone: StrengthTone = score <= 1 ? 'weak' : score === 2 ? 'fair' : 'strong';
  const crack = strength.crackTime.trim();
  return {
    percent: (score + 1) * 20,
    tone,
    text: `Strength: ${strength.label}.${crack === '' ? '' : ` Guessing it would take ${crack}.`}`,
    warning: strength.warning !== null && strength.warning.trim() !== '' ? strength.warning : null,
    suggestions: strength.suggestions.filter((s) => s.trim() !== ''),
    acceptable: score >= MIN_SCORE,
  };
}

export type StrengthChecker = {
  /** The passphrase changed. */
  update(passphrase: string): void;
  /** Stop: nothing more is reported. */
  cancel(): void;
};

/**
 * Debounced, ordered strength checks: `onResult(null)` at once for an empty
 * passphrase, else the core's estimate `delayMs` after typing stops. An answer
 * for anything but the latest text is dropped.
 */
export function strengthChecker(
  estimate: (passphrase: string) => Promise<Strength>,
  onResult: (strength: Strength | null) => void,
  onError: (error: unknown) => void,
  delayMs = 150,
): StrengthChecker {
  const latest = new Latest();
  const run = debounce((passphrase: string) => {
    const ticket = latest.next();
    estimate(passphrase).then(
      (strength) => {
        if (latest.isCurrent(ticket)) onResult(strength);
      },
      (error: unknown) => {
        if (latest.isCurrent(ticket)) onError(error);
      },
    );
  }, delayMs);
  return {
    update(passphrase: string) {
      if (passphrase === '') {
        run.cancel();
        latest.invalidate();
        onResult(null);
        return;
      }
      latest.invalidate();
      run(passphrase);
    },
    cancel() {
      run.cancel();
      latest.invalidate();
    },
  };
}
