// The 3D viewer (three.js, loaded only when a model is opened): a modal dialog with the model lit
// and framed, turned with the mouse, a finger or the buttons, zoomed with the wheel or the buttons.

import {
  Box3,
  Color,
  DirectionalLight,
  HemisphereLight,
  PerspectiveCamera,
  Scene,
  Vector3,
  WebGLRenderer,
} from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { h } from "./dom";

export function openViewer(name: string, glb: Uint8Array): void {
  const canvas = h("canvas", { role: "img", "aria-label": `${name} in 3D: drag to turn it, scroll to zoom, or use the buttons` });
  const message = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const buttons = h("div", { class: "actions viewer-controls" });
  const close = h("button", { type: "button" }, "Close");
  const dialog = h(
    "dialog",
    { class: "viewer", "aria-labelledby": "viewer-heading" },
    h("h2", { id: "viewer-heading" }, name),
    canvas,
    message,
    buttons,
    close,
  );
  document.body.append(dialog);
  let stop = () => {};
  const finish = () => {
    stop();
    dialog.close();
    dialog.remove();
  };
  close.addEventListener("click", finish);
  dialog.addEventListener("cancel", finish);
  dialog.showModal();

  let renderer: WebGLRenderer;
  try {
    renderer = new WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  } catch {
    message.textContent = "This browser cannot show 3D here (WebGL is off). Download the GLB to open it elsewhere.";
    return;
  }
  const width = Math.min(720, window.innerWidth - 64);
  const height = Math.round(width * 0.75);
  renderer.setPixelRatio(window.devicePixelRatio);
  renderer.setSize(width, height);
  const scene = new Scene();
  scene.background = new Color(getComputedStyle(document.documentElement).getPropertyValue("--viewer-background").trim() || "#f2f2f2");
  scene.add(new HemisphereLight(0xffffff, 0x666666, 2.0));
  const sun = new DirectionalLight(0xffffff, 2.0);
  sun.position.set(1, 2, 3);
  scene.add(sun);
  const camera = new PerspectiveCamera(40, width / height, 0.01, 100);
  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = true;
  let frame = 0;
  const draw = () => {
    controls.update();
    renderer.render(scene, camera);
    canvas.dataset.rendered = "true";
    frame = requestAnimationFrame(draw);
  };
  stop = () => {
    cancelAnimationFrame(frame);
    controls.dispose();
    renderer.dispose();
  };
  const buffer = glb.buffer.slice(glb.byteOffset, glb.byteOffset + glb.byteLength) as ArrayBuffer;
  new GLTFLoader().parse(
    buffer,
    "",
    (gltf) => {
      scene.add(gltf.scene);
      const box = new Box3().setFromObject(gltf.scene);
      const centre = box.getCenter(new Vector3());
      const size = box.getSize(new Vector3()).length() || 1;
      const home = centre.clone().add(new Vector3(0, size * 0.15, size * 1.3));
      camera.position.copy(home);
      controls.target.copy(centre);
      const turn = (angle: number) => {
        const offset = camera.position.clone().sub(controls.target);
        offset.applyAxisAngle(new Vector3(0, 1, 0), angle);
        camera.position.copy(controls.target).add(offset);
      };
      const zoom = (factor: number) => {
        camera.position.sub(controls.target).multiplyScalar(factor).add(controls.target);
      };
      buttons.append(
        h("button", { type: "button", onclick: () => turn(-Math.PI / 8) }, "Turn left"),
        h("button", { type: "button", onclick: () => turn(Math.PI / 8) }, "Turn right"),
        h("button", { type: "button", onclick: () => zoom(0.8) }, "Zoom in"),
        h("button", { type: "button", onclick: () => zoom(1.25) }, "Zoom out"),
        h("button", { type: "button", onclick: () => { camera.position.copy(home); controls.target.copy(centre); } }, "Reset view"),
      );
      draw();
    },
    () => {
      message.textContent = "This model could not be read.";
    },
  );
}
