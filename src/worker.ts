import { schema } from './schema';
import { type AppBindings, createApp } from './server/app';

const app = createApp(schema);

export default {
  fetch: (request, env) => app.fetch(request, env),
} satisfies ExportedHandler<AppBindings>;
