import { render } from 'preact';
import { App } from './app';
import './styles.css';
import './views.css';

render(<App />, document.getElementById('app') as HTMLElement);
