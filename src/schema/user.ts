import type { UserRecord } from '../db/users';
import { builder } from './builder';

export const UserRef = builder.objectRef<UserRecord>('User').implement({
  description: 'A person or agent known by the `sub` of its token.',
  fields: (t) => ({
    id: t.exposeID('id'),
    displayName: t.exposeString('displayName', { nullable: true }),
    email: t.exposeString('email', { nullable: true }),
  }),
});
