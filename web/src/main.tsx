import { render } from "preact";
import { App } from "./app";
import { loadConfig } from "./config";
import "./style.css";

const root = document.getElementById("app")!;
loadConfig().then(
  (cfg) => {
    root.textContent = "";
    render(<App cfg={cfg} />, root);
  },
  (e) => {
    root.textContent = `The dashboard could not load its configuration: ${e.message}`;
  },
);
