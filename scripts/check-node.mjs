// Runs before `npm start` / `npm test` (plain JavaScript, so it runs on any node): the project's
// TypeScript runs on Node 24's type stripping, which older nodes do not have. npm puts
// node_modules/.bin first on a script's PATH, where the `node` dev dependency installs Node 24.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    [
      `This project runs on Node.js 24 (the Lambda nodejs24.x runtime); this is ${process.version}.`,
      'Run `npm ci` (it installs Node 24 from the npm registry as the `node` dev dependency,',
      'which npm scripts use), and do not pass --ignore-scripts. Or put a Node 24 first on PATH.',
    ].join('\n'),
  );
  process.exit(1);
}
