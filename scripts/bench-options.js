// The options of a `pnpm bench` (each package's bench/run.js): stops with a clear message at an
// option that bench does not know, so that a mistyped or misplaced flag (e.g. --numpy-malloc
// without --numpy) is not silently ignored.
'use strict';

/**
 * @param {string[]} argv the bench's arguments (the selector flag removed)
 * @param {Record<string, boolean>} options option -> whether a value follows it
 * @param {string} name how the user runs this bench, for the message
 * @param {string} file the bench's source, whose top comment documents the options
 */
function checkBenchOptions(argv, options, name, file) {
  for (let i = 0; i < argv.length; i++) {
    const takesValue = Object.hasOwn(options, argv[i]) ? options[argv[i]] : undefined;
    if (takesValue === undefined) {
      process.stderr.write(`unknown option ${argv[i]} for ${name}; its options: ${Object.keys(options).join(', ')} (see the comment at the top of ${file})\n`);
      process.exit(2);
    }
    if (takesValue) i += 1;
  }
}

module.exports = { checkBenchOptions };
