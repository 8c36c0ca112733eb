import { mount } from 'svelte';
import './app.css';
import App from './app/App.svelte';
import { applyTheme, savedTheme } from './lib/theme';

applyTheme(savedTheme());
const target = document.getElementById('app');
if (target) mount(App, { target });
