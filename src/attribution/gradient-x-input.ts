// Gradient x input in embedding space: x . df/dx at the patient itself. It is the path integral
// from an all-zero embedding evaluated at alpha = 1 only, so it reuses the path core.
import type { PathDraw } from './path';

export const gxiDraws: PathDraw[] = [{ ref: 0, alpha: 1 }];
