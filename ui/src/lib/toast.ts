export type Toast = { id: number; kind: "error" | "info"; title: string; message: string };

type Listener = () => void;
let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<Listener>();

function emit() {
  for (const l of listeners) l();
}

export const toastStore = {
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  },
  snapshot(): Toast[] {
    return toasts;
  },
  push(kind: Toast["kind"], title: string, message: string): number {
    const id = nextId++;
    toasts = [...toasts, { id, kind, title, message }];
    emit();
    if (kind === "info") setTimeout(() => toastStore.dismiss(id), 4000);
    return id;
  },
  dismiss(id: number) {
    toasts = toasts.filter((t) => t.id !== id);
    emit();
  },
  clear() {
    toasts = [];
    emit();
  },
};
