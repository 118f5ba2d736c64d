// The parts of the Firebase JS SDK (npm `firebase`) the sign-in page uses,
// bundled by esbuild into one ES module the page imports as ./firebase.js.
export { initializeApp } from "firebase/app";
export { connectAuthEmulator, createUserWithEmailAndPassword, getAuth } from "firebase/auth";
