import { passwordView, type NewPassword, type SimApp } from './directory-state.ts';

/** The application properties this simulator knows, in the order Graph writes them. */
export const APPLICATION_PROPERTIES = [
  'id',
  'appId',
  'createdDateTime',
  'displayName',
  'signInAudience',
  'keyCredentials',
  'passwordCredentials',
] as const;

export type ApplicationProperty = (typeof APPLICATION_PROPERTIES)[number];

export interface ApplicationRecord {
  readonly app: SimApp;
  readonly createdDateTime: string;
  readonly passwords: readonly NewPassword[];
}

/** A passwordCredential as Graph shows it after creation: the secret text is always null. */
export function passwordCredentialJson(password: NewPassword): Record<string, unknown> {
  const view = passwordView(password);
  return {
    customKeyIdentifier: null,
    displayName: view.displayName,
    endDateTime: view.endDateTime,
    hint: view.hint,
    keyId: view.keyId,
    secretText: null,
    startDateTime: view.startDateTime,
  };
}

function propertyValue(record: ApplicationRecord, property: ApplicationProperty): unknown {
  switch (property) {
    case 'id':
      return record.app.objectId;
    case 'appId':
      return record.app.appId;
    case 'createdDateTime':
      return record.createdDateTime;
    case 'displayName':
      return record.app.displayName;
    case 'signInAudience':
      return record.app.signInAudience;
    case 'keyCredentials':
      return [];
    case 'passwordCredentials':
      return record.passwords.map(passwordCredentialJson);
  }
}

export function applicationJson(
  record: ApplicationRecord,
  properties: readonly ApplicationProperty[],
): Record<string, unknown> {
  return Object.fromEntries(properties.map((property) => [property, propertyValue(record, property)]));
}
