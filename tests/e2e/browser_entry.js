// The browser build of the page's client: Cube's own @cubejs-client/core, bundled as a front end
// would bundle it (esbuild, by scripts/browser_cors.py), exposed as `window.cubeClient`.
import cube from '@cubejs-client/core';

window.cubeClient = cube;
