// The confirm dialog: `await confirmAction({...})` resolves true for "yes".
// One question at a time; asking again answers the previous one "no".

export type ConfirmRequest = {
  title: string;
  message: string;
  /** The yes button's text, e.g. "Delete". */
  yes: string;
  no?: string;
  /** Style the yes button as destructive. */
  danger?: boolean;
};

class Confirmation {
  request = $state<ConfirmRequest | null>(null);
  private resolver: ((yes: boolean) => void) | null = null;

  ask(request: ConfirmRequest): Promise<boolean> {
    this.answer(false);
    this.request = request;
    return new Promise<boolean>((resolve) => {
      this.resolver = resolve;
    });
  }

  answer(yes: boolean): void {
    const resolve = this.resolver;
    this.resolver = null;
    this.request = null;
    resolve?.(yes);
  }
}

export const confirmation = new Confirmation();

export function confirmAction(request: ConfirmRequest): Promise<boolean> {
  return confirmation.ask(request);
}
