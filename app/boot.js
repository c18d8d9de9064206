// Loads the wasm bundle; the app mounts itself from its start function.
import init from "/pkg/app.js";
init();
