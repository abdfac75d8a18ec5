import { ErrorCodes } from '../../errors/codes.ts';
import { RotatorError, type ErrorKind } from '../../errors/rotator-error.ts';

/**
 * The rotator could not get a Graph token for a tenant with its own identity: a configuration problem
 * (wrong client id, expired secret, missing federated credential) unless the cause was the network.
 */
export class EntraCredentialError extends RotatorError {
  readonly code = ErrorCodes.entraCredential;
  readonly kind: ErrorKind;
  /** The AADSTS number Entra gave, when it gave one. */
  readonly aadsts: number | undefined;

  constructor(message: string, kind: ErrorKind, aadsts: number | undefined) {
    super(message);
    this.kind = kind;
    this.aadsts = aadsts;
  }
}
