// Copying a field in the shell (the value never enters the web view), with
// the clipboard-clear rule and a notice saying what went to the clipboard.

import { credentialCopy } from './ipc';
import { notices } from './notices.svelte';

/** Copies `field` of `name`; resolves whether it was copied (a failure is shown). */
export async function copyField(name: string, field: string, label: string): Promise<boolean> {
  try {
    const clearsIn = await credentialCopy(name, field);
    notices.info(`Copied the ${label} of ${name}; the clipboard clears in ${clearsIn} s.`);
    return true;
  } catch (error) {
    notices.error(error);
    return false;
  }
}
