// A front-end developer's local sign-in: the Firebase JS SDK initialised as the
// front end's lib/firebase.ts does, pointed at the Auth emulator with the one
// line docs/local-sign-in.md adds, then a new email/password account. app.js
// then asks `auth.currentUser.getIdToken()` for every request, as lib/api.ts does.
import {
  connectAuthEmulator,
  createUserWithEmailAndPassword,
  getAuth,
  initializeApp,
} from "./firebase.js";

const params = new URLSearchParams(location.hash.slice(1));
const projectId = params.get("project");

async function signIn() {
  const app = initializeApp({
    apiKey: "demo-api-key", // the emulator takes any key
    authDomain: `${projectId}.firebaseapp.com`,
    projectId,
  });
  const auth = getAuth(app);
  connectAuthEmulator(auth, params.get("emulator"), { disableWarnings: true });
  const credential = await createUserWithEmailAndPassword(
    auth,
    params.get("email"),
    params.get("password"),
  );
  document.getElementById("firebase-uid").textContent = credential.user.uid;
  window.firebaseAuth = auth;
}

signIn()
  .then(() => {
    const script = document.createElement("script");
    script.src = "app.js";
    document.body.append(script);
  })
  .catch((err) => {
    document.getElementById("error").textContent = `Firebase sign-in failed: ${err}`;
    document.body.dataset.state = "failed";
  });
