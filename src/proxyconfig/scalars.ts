/** Scalars the ProxyConfig contract's modules share. */
import { z } from 'zod';

export const port = z.number().int().min(1).max(65535);
