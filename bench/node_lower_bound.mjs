// A lower bound of the Node original's cold start (leczy642/DebugFlow backend/src/lambda.js).
//
// Not its code: only the packages its module graph loads from lambda.js (read there:
// lambda.js, app.js, utils/logger.js, lib/firebaseAdmin.js, middleware/auth.js,
// db/postgres_connect.js, routes/ingest.js, services/embedLogs.js), each set up at
// load as it sets them up, an Express app with its /health, wrapped by serverless-http
// and invoked once with a Function URL event. The original also loads its other routes
// and services (LangChain, OpenAI, ...) and runs under Lambda's Node bootstrap: its real
// cold start is longer, so a ratio against this bound overstates ours.
// Prints the /health response as its first line of output.
import serverless from "serverless-http";
import express from "express";
import cors from "cors";
import cookieParser from "cookie-parser";
import dotenv from "dotenv";
import winston from "winston";
import admin from "firebase-admin";
import pg from "pg";
import { Pinecone } from "@pinecone-database/pinecone";
import { InferenceClient } from "@huggingface/inference";
import pLimit from "p-limit";
import pRetry from "p-retry";

dotenv.config();
const logger = winston.createLogger({
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [
    new winston.transports.Console(),
    new winston.transports.File({ filename: "logs/error.log", level: "error" }),
  ],
});
admin.initializeApp({
  credential: admin.credential.cert({
    projectId: process.env.FIREBASE_PROJECT_ID,
    clientEmail: process.env.FIREBASE_CLIENT_EMAIL,
    privateKey: process.env.FIREBASE_PRIVATE_KEY,
  }),
});
const auth = admin.auth();
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const pinecone = new Pinecone({ apiKey: "bench" });
const hf = new InferenceClient("bench");
const app = express();
app.use(cors({ origin: true }));
app.use(express.json({ limit: "10mb" }));
app.use(cookieParser());
app.get("/health", (req, res) => {
  res.json({ status: "ok", uptime: process.uptime(), timestamp: new Date().toISOString() });
});
const handler = serverless(app);
const event = JSON.parse(process.env.BENCH_EVENT);
const context = { awsRequestId: "bench", getRemainingTimeInMillis: () => 30000 };
const result = await handler(event, context);
console.log(JSON.stringify({ statusCode: result.statusCode, body: result.body }));
void [logger, auth, pool, pinecone, hf, pLimit, pRetry];
process.exit(0);
