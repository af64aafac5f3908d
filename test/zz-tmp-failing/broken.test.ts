import './does-not-exist.js';
