# One image for every role (api, worker, migrations); the role is the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
USER node
EXPOSE 8088
CMD ["node", "--import", "tsx", "api/main.ts"]
