/** The ops console page (/ops/): `<flashcast-ops>` on the whole page; `?server=` points at another gateway. */
import './OpsConsole.js';

const ops = document.createElement('flashcast-ops');
const server = new URLSearchParams(location.search).get('server');
if (server) ops.setAttribute('server', server);
document.body.append(ops);
