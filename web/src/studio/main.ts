/**
 * The host studio page (/studio/): `<flashcast-studio>` on the whole page; `?room=` proposes
 * the room at sign-in, `?server=` points at another gateway.
 */
import './FlashcastStudio.js';

const query = new URLSearchParams(location.search);
const studio = document.createElement('flashcast-studio');
if (query.get('room')) studio.setAttribute('room', query.get('room')!);
if (query.get('server')) studio.setAttribute('server', query.get('server')!);
document.body.append(studio);
