declare module "*.so" {
  const path: string;
  export default path;
}

declare module "*.elf" {
  const path: string;
  export default path;
}
