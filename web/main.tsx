/** Tshop Reserve's web app: the entry point esbuild bundles (web/build/esbuild.ts). */
import { render } from 'preact';
import { App } from './app.js';
import { applyLang } from './i18n.js';
import './styles.css';

applyLang();
const root = document.getElementById('app');
if (root) render(<App />, root);
